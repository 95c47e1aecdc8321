"""The local cloud's access control: who makes each call, and whether AWS would let them.

Every request moto serves is authorised as AWS would authorise it (`enforcement`): the
caller (`principals`: a function's or a state machine's execution role, an AWS service
delivering for a rule or an alarm, or the account's own credentials) is checked against
its role's identity policies and the resource's own policy (`policies`, as `policy_sources`
finds them), for the action and resource ARNs AWS checks for that operation (`actions`). A refusal fails the call as it
fails on AWS. `resource_policies` creates the policy resources of the template (queue,
topic and bus policies) that moto's CloudFormation would skip.
"""
