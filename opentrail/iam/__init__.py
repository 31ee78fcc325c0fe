"""IAM: users, groups, roles, access keys, login profiles and policies (``<data-dir>/iam.db``), and
the directory the policy enforcement reads (:class:`opentrail.iam.model.IamDirectory`)."""
