"""AWS Organizations domain errors: no HTTP; the class name is the wire error code (an error shape
of ``botocore/data/organizations/2016-11-28``), the message AWS's text, and ``reason`` the
``Reason`` member the model gives ConstraintViolationException and InvalidInputException.

Where the texts come from (see docs/organizations.md, "Errors"):

- moto 5.2.5's Organizations exceptions (moto copies AWS's responses; not checked against a live
  AWS response), and AWS's AccessDeniedException and MalformedPolicyDocumentException texts:
  "Your account is not a member of an organization.", "The provided account is already a member of
  an organization.", "You specified an account that doesn't exist.", "You specified a root that
  doesn't exist.", "You specified a policy that doesn't exist.", "You specified a target that
  doesn't exist.", "A policy with the same name already exists.", "An OU with the same name already
  exists.", "The specified policy type is already enabled.", "This operation can be performed only
  for enabled policy types.", "To delete an organization you must first remove all member accounts
  (except the master).", "The provided account is already a delegated administrator for your
  organization.", "The provided account is not a registered delegated administrator for your
  organization.", "You cannot register master account/yourself as delegated administrator for your
  organization.", "You specified an unrecognized service principal.", "The policy is attached to
  one or more entities. You must detach it from all roots, OUs, and accounts before performing this
  operation.", "You don't have permissions to access this resource.", "The provided policy document
  does not meet the requirements of the specified policy type.";
- the model's documentation of the error shape, used as the message where no response was found
  (the other texts below; each method says which).
"""

from __future__ import annotations

from ..domain_errors import DomainError


class OrganizationsError(DomainError):
    """Base: ``code`` is the class name; ``reason`` the model's Reason enum value or None."""

    reason: str | None = None

    def __init__(self, message: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class AccessDeniedException(OrganizationsError):
    default_message = "You don't have permissions to access this resource."


class AWSOrganizationsNotInUseException(OrganizationsError):
    default_message = "Your account is not a member of an organization."


class AlreadyInOrganizationException(OrganizationsError):
    default_message = "The provided account is already a member of an organization."


class AccountNotFoundException(OrganizationsError):
    default_message = "You specified an account that doesn't exist."


class RootNotFoundException(OrganizationsError):
    default_message = "You specified a root that doesn't exist."


class PolicyNotFoundException(OrganizationsError):
    default_message = "You specified a policy that doesn't exist."


class TargetNotFoundException(OrganizationsError):
    default_message = "You specified a target that doesn't exist."


class ConcurrentModificationException(OrganizationsError):
    """The organization changed (on another node) between the call's checks and its write."""

    default_message = "The target of the operation is currently being modified by a different request. Try again later."


class DuplicatePolicyException(OrganizationsError):
    default_message = "A policy with the same name already exists."


class DuplicateOrganizationalUnitException(OrganizationsError):
    default_message = "An OU with the same name already exists."


class PolicyTypeAlreadyEnabledException(OrganizationsError):
    default_message = "The specified policy type is already enabled."


class PolicyTypeNotEnabledException(OrganizationsError):
    default_message = "This operation can be performed only for enabled policy types."


class OrganizationNotEmptyException(OrganizationsError):
    default_message = "To delete an organization you must first remove all member accounts (except the master)."


class AccountAlreadyRegisteredException(OrganizationsError):
    default_message = "The provided account is already a delegated administrator for your organization."


class AccountNotRegisteredException(OrganizationsError):
    default_message = "The provided account is not a registered delegated administrator for your organization."


class PolicyInUseException(OrganizationsError):
    default_message = ("The policy is attached to one or more entities. You must detach it from all roots, OUs, "
                       "and accounts before performing this operation.")


class MalformedPolicyDocumentException(OrganizationsError):
    default_message = "The provided policy document does not meet the requirements of the specified policy type."


class InvalidInputException(OrganizationsError):
    """Reason ``UNRECOGNIZED_SERVICE_PRINCIPAL`` for an unknown service principal; otherwise
    ``INVALID_INPUT`` (the model's enum) with AWS's generic "You specified an invalid value."."""

    default_message = "You specified an invalid value."

    @classmethod
    def service_principal(cls) -> InvalidInputException:
        return cls("You specified an unrecognized service principal.", "UNRECOGNIZED_SERVICE_PRINCIPAL")

    @classmethod
    def immutable_policy(cls) -> InvalidInputException:
        """Changing or deleting the AWS managed FullAWSAccess (the model's text for IMMUTABLE_POLICY)."""
        return cls("You specified a policy that is managed by Amazon Web Services and can't be modified.",
                   "IMMUTABLE_POLICY")

    @classmethod
    def policy_type(cls) -> InvalidInputException:
        """A policy type opentrail does not serve (the model's text for INVALID_ENUM_POLICY_TYPE)."""
        return cls("You specified an invalid policy type string.", "INVALID_ENUM_POLICY_TYPE")

    @classmethod
    def next_token(cls) -> InvalidInputException:
        """A NextToken not made for this request (the model's text for INVALID_NEXT_TOKEN)."""
        return cls("You specified an invalid value for nextToken. You must get the value from the response to a "
                   "previous call to the API.", "INVALID_NEXT_TOKEN")


# --- texts from the model's documentation of the shape (no AWS response found) ------------------


class OrganizationalUnitNotFoundException(OrganizationsError):
    default_message = "We can't find an OU with the OrganizationalUnitId that you specified."


class OrganizationalUnitNotEmptyException(OrganizationsError):
    default_message = ("The specified OU is not empty. Move all accounts to another root or to other OUs, remove all "
                       "child OUs, and try the operation again.")


class ParentNotFoundException(OrganizationsError):
    default_message = "We can't find a root or OU with the ParentId that you specified."


class ChildNotFoundException(OrganizationsError):
    default_message = "We can't find an organizational unit (OU) or Amazon Web Services account with the ChildId that you specified."


class SourceParentNotFoundException(OrganizationsError):
    default_message = "We can't find a source root or OU with the ParentId that you specified."


class DestinationParentNotFoundException(OrganizationsError):
    default_message = "We can't find the destination container (a root or OU) with the ParentId that you specified."


class DuplicateAccountException(OrganizationsError):
    default_message = "That account is already present in the specified destination."


class DuplicatePolicyAttachmentException(OrganizationsError):
    default_message = "The selected policy is already attached to the specified target."


class PolicyNotAttachedException(OrganizationsError):
    default_message = "The policy isn't attached to the specified target in the specified root."


class CreateAccountStatusNotFoundException(OrganizationsError):
    default_message = "We can't find an create account request with the CreateAccountRequestId that you specified."


class MasterCannotLeaveOrganizationException(OrganizationsError):
    default_message = ("You can't remove a management account from an organization. If you want the management "
                       "account to become a member account in another organization, you must first delete the "
                       "current organization of the management account.")


class PolicyTypeNotAvailableForOrganizationException(OrganizationsError):
    default_message = ("You can't use the specified policy type with the feature set currently enabled for this "
                       "organization. For example, you can enable SCPs only after you enable all features in the "
                       "organization.")


class ConstraintViolationException(OrganizationsError):
    """The model's Reason values; the message is the Reason's description in the model."""

    @classmethod
    def of(cls, reason: str) -> ConstraintViolationException:
        return cls(CONSTRAINT_TEXTS[reason], reason)


#: ConstraintViolationException Reason -> message (the model documentation's description of it,
#: except CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR, AWS's response text).
CONSTRAINT_TEXTS: dict[str, str] = {
    "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR":
        "You cannot register master account/yourself as delegated administrator for your organization.",
    "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG":
        "You can't remove an account that is a delegated administrator from the organization. You must first "
        "deregister it as a delegated administrator.",
    "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED":
        "You attempted to exceed the number of policies of a certain type that can be attached to an entity at "
        "one time.",
    "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED":
        "You attempted to detach a policy from an entity that would cause the entity to have fewer than the "
        "minimum number of policies of a certain type required.",
    "OU_DEPTH_LIMIT_EXCEEDED": "You attempted to create an OU tree that is too many levels deep.",
}
