"""Region long names as CloudWatch writes them in alarm notifications (the SNS message's ``Region``
and the subject ``ALARM: "name" in US East (N. Virginia)``).

CloudWatch uses the older "EU (...)" names for the European Regions, not the console's
"Europe (...)": real messages show "EU (Ireland)" (2024), "EU (London)" (2019, 2022) and "EU
(Stockholm)" (2025), next to "US East (N. Virginia)", "US West (Oregon)", "US West (N. California)",
"Asia Pacific (Sydney)", "Asia Pacific (Seoul)", "Asia Pacific (Singapore)" and "South America (Sao
Paulo)". The other names follow the same (AWS Price List "location") naming; those of Regions opened
after 2022 come from botocore's ``endpoints.json`` descriptions with "Europe" written "EU" and are
not confirmed by a real message. An unknown Region is shown by its code.
"""

from __future__ import annotations

REGION_LONG_NAMES: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-east-2": "Asia Pacific (Taipei)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-southeast-5": "Asia Pacific (Malaysia)",
    "ap-southeast-6": "Asia Pacific (New Zealand)",
    "ap-southeast-7": "Asia Pacific (Thailand)",
    "ca-central-1": "Canada (Central)",
    "ca-west-1": "Canada West (Calgary)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-central-2": "EU (Zurich)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-south-1": "EU (Milan)",
    "eu-south-2": "EU (Spain)",
    "eu-north-1": "EU (Stockholm)",
    "il-central-1": "Israel (Tel Aviv)",
    "me-south-1": "Middle East (Bahrain)",
    "me-central-1": "Middle East (UAE)",
    "mx-central-1": "Mexico (Central)",
    "sa-east-1": "South America (Sao Paulo)",
    "us-gov-east-1": "AWS GovCloud (US-East)",
    "us-gov-west-1": "AWS GovCloud (US-West)",
    "cn-north-1": "China (Beijing)",
    "cn-northwest-1": "China (Ningxia)",
}


def region_long_name(region: str) -> str:
    """The long name of ``region`` (its code when unknown)."""
    return REGION_LONG_NAMES.get(region, region)
