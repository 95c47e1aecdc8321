"""The CDK context the infrastructure tier's syntheses are given (tests/infra/conftest.py)."""

from __future__ import annotations

URL = "https://pharmacy.example.com/api"
SECRET = "pharmacy/api-token"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:pharmacy/api-token-AbCdEf"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
"""The example key ARN of the KMS developer guide ("Key identifiers")."""
ORDER_PRODUCER = "111122223333"

CONFIGURED_STACK = "PharmacyStaging"
CONFIGURED = {
    "order_producers": ORDER_PRODUCER,
    "pharmacy_api_url": URL,
    "pharmacy_api_secret": SECRET_ARN,
    "pharmacy_api_steps": "inventory",
    "pharmacy_api_secret_key": KEY_ARN,
}
"""Every optional setting at once: a secret given by ARN, under a customer managed key, for one step."""

MIXED_PHARMACY = {
    "pharmacy_api_url": URL,
    "pharmacy_api_secret": SECRET,
    "pharmacy_api_steps": "shipments,prescriptions",
}
