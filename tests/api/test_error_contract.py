"""Error contract: every AWS error code opentrail can answer is either modeled for that operation in
the botocore CloudTrail model or one of the errors common to every AWS JSON 1.1 service.

The errors a handler can raise are read from its source (every ``raise`` in the handler and in the
module-level functions it calls, transitively), so a new ``raise SomeException`` in a handler is
checked without anyone remembering to list it. Errors raised at the API edge (app, SigV4) must be
common errors.
"""

from __future__ import annotations

import ast
import inspect
import sys
from types import ModuleType

import botocore.session
import pytest

from opentrail.api import app as app_module
from opentrail.api import errors
from opentrail.api.operations import OPERATIONS, implemented_operations
from opentrail.auth import sigv4

#: Errors any AWS JSON 1.1 operation may answer besides its modeled ones. Sources: AWS "Common
#: Errors" pages of the API references (AccessDeniedException, IncompleteSignature, InternalFailure,
#: ServiceUnavailable, ThrottlingException, ValidationError), and the Coral/JSON protocol errors seen
#: on the wire (architect/dynalite index.js and validations/index.js, recorded from DynamoDB;
#: aws/aws-sdk-net#1536 for UnknownOperationException).
COMMON_ERRORS = frozenset({
    "AccessDeniedException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "InternalFailure",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "SerializationException",
    "ServiceUnavailable",
    "ThrottlingException",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "ValidationException",
})

#: opentrail's own protocol errors with no AWS counterpart (AWS answers an oversize body with a bare
#: 413); keep this set as small as possible.
OPENTRAIL_ONLY_ERRORS = frozenset({"RequestEntityTooLargeException"})

MODEL = botocore.session.get_session().get_service_model("cloudtrail")


def aws_error_classes() -> dict[str, type[errors.AwsError]]:
    return {
        name: obj for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, errors.AwsError) and obj is not errors.AwsError
    }


def modeled_errors(operation: str) -> set[str]:
    return {shape.name for shape in MODEL.operation_model(operation).error_shapes}


def _raised_names(node: ast.AST, namespace: dict[str, object]) -> set[str]:
    """AwsError subclasses named anywhere inside the ``raise`` statements under ``node``."""
    found: set[str] = set()
    for raise_node in (n for n in ast.walk(node) if isinstance(n, ast.Raise) and n.exc is not None):
        for name in (n for n in ast.walk(raise_node.exc) if isinstance(n, ast.Name)):
            obj = namespace.get(name.id)
            if isinstance(obj, type) and issubclass(obj, errors.AwsError) and obj is not errors.AwsError:
                found.add(obj.__name__)
    return found


def errors_raised_by(function: object) -> set[str]:
    """Error codes raised by ``function`` and by the functions of its module it calls (a handler
    behind the model's request validation is read unwrapped; validation answers common errors)."""
    function = inspect.unwrap(function)  # type: ignore[arg-type]
    module: ModuleType = sys.modules[function.__module__]  # type: ignore[attr-defined]
    tree = ast.parse(inspect.getsource(module))
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    namespace = vars(module)
    seen: set[str] = set()
    todo = [function.__code__.co_name]  # type: ignore[attr-defined]  (handlers may be renamed)
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        found |= _raised_names(functions[name], namespace)
        todo += [c.func.id for c in ast.walk(functions[name])
                 if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)]
    return found


def errors_raised_in_module(module: ModuleType) -> set[str]:
    return _raised_names(ast.parse(inspect.getsource(module)), vars(module))


def test_common_errors_exist_as_classes() -> None:
    classes = aws_error_classes()
    for name in COMMON_ERRORS | OPENTRAIL_ONLY_ERRORS:
        assert name in classes, name
        assert classes[name]().code == name


def test_every_error_class_is_modeled_somewhere_or_common() -> None:
    modeled_anywhere = {shape for op in MODEL.operation_names for shape in modeled_errors(op)}
    stray = set(aws_error_classes()) - modeled_anywhere - COMMON_ERRORS - OPENTRAIL_ONLY_ERRORS
    assert stray == set()


def test_lookup_events_raises_exactly_these_errors() -> None:
    raised = errors_raised_by(OPERATIONS["LookupEvents"])
    assert raised == {
        "InvalidEventCategoryException",
        "InvalidLookupAttributesException",
        "InvalidMaxResultsException",
        "InvalidNextTokenException",
        "InvalidTimeRangeException",
        "SerializationException",
        "ThrottlingException",
    }
    assert raised - COMMON_ERRORS <= modeled_errors("LookupEvents")


@pytest.mark.parametrize("operation", implemented_operations())
def test_implemented_operation_errors_are_modeled_or_common(operation: str) -> None:
    handler = OPERATIONS[operation]
    raised = errors_raised_by(handler)
    declared = set(getattr(handler, "errors", ()))  # an optional explicit declaration on the handler
    uncovered = (raised | declared) - modeled_errors(operation) - COMMON_ERRORS
    assert uncovered == set(), f"{operation} raises errors its model does not list: {sorted(uncovered)}"


def test_not_implemented_operations_answer_a_common_error() -> None:
    for operation, handler in OPERATIONS.items():
        if operation in implemented_operations():
            continue
        assert errors_raised_by(handler) == {"UnknownOperationException"}, operation


def test_api_edge_raises_only_common_errors() -> None:
    edge = errors_raised_in_module(app_module) | errors_raised_in_module(sigv4)
    assert edge <= COMMON_ERRORS | OPENTRAIL_ONLY_ERRORS, sorted(edge - COMMON_ERRORS - OPENTRAIL_ONLY_ERRORS)
    assert {"MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException",
            "IncompleteSignatureException", "UnknownOperationException"} <= edge


def test_the_collector_sees_raises_through_helpers() -> None:
    # Guard against a collector that finds nothing.
    namespace = {"InvalidTimeRangeException": errors.InvalidTimeRangeException}
    tree = ast.parse("def f():\n    raise InvalidTimeRangeException.x()\n")
    assert _raised_names(tree, namespace) == {"InvalidTimeRangeException"}
    assert _raised_names(ast.parse("def f():\n    raise ValueError()\n"), {"ValueError": ValueError}) == set()
