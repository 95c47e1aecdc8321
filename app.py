#!/usr/bin/env python3
"""The CDK app: one OrderFulfillment stack (name and switches from CDK context)."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks

from infra import names
from infra.pharmacy import pharmacy_api
from infra.stack import OrderFulfillmentStack
from infra.verification import pharmacist_verification, split_list


def order_producers(value: object) -> list[str]:
    """`-c order_producers=111122223333,arn:aws:iam::444455556666:role/pharmacy-api`, or a JSON list in cdk.json."""
    return split_list(value)


def build_app(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App()
    context = app.node.try_get_context
    fault_injection = str(context(names.CONTEXT_FAULT_INJECTION) or "false").lower() == "true"
    production = str(context(names.CONTEXT_ENVIRONMENT) or "").lower() == names.PRODUCTION
    OrderFulfillmentStack(
        app,
        str(context(names.CONTEXT_STACK_NAME) or names.DEFAULT_STACK_NAME),
        fault_injection=fault_injection,
        production=production,
        order_producers=order_producers(context(names.CONTEXT_ORDER_PRODUCERS)),
        pharmacy=pharmacy_api(context),
        verification=pharmacist_verification(context),
        verification_producers=split_list(context(names.CONTEXT_VERIFICATION_PRODUCERS)),
        domain_events_queue=str(context(names.CONTEXT_DOMAIN_EVENTS_QUEUE) or "false").lower() == "true",
        synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
        description="Order fulfillment saga for pharmacies (Step Functions, EventBridge, DynamoDB)",
    )
    # Every synth is checked; an unacknowledged finding fails it (acknowledgements: infra/nag.py).
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True),
        HIPAASecurityChecks(app, verbose=True, write_suppressions_to_cloud_formation=True),
    )
    return app


if __name__ == "__main__":
    build_app().synth()
