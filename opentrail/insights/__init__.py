"""CloudTrail Insights: unusual API call and error rates (docs/insights.md)."""
