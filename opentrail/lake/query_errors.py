"""Query errors named after the wire: the class name is the AWS error code (no HTTP here).

:mod:`opentrail.api.lake_queries` turns them into API errors. AWS publishes no exact message for
most Lake errors; the texts follow the botocore model's documentation of each error shape, and
SQL errors use Trino's own wording with the position (``line 1:8: Column 'x' cannot be resolved``).
"""

from __future__ import annotations

from ..domain_errors import DomainError

# The store lookup errors are the event data store service's own (one class per code).
from .errors import EventDataStoreNotFoundException, InactiveEventDataStoreException


class QueryError(DomainError):
    """Base of every query error; ``code`` is the class name, ``message`` the text."""


class InvalidQueryStatementException(QueryError):
    """The statement is not a query Lake runs: a syntax error, a statement other than SELECT, an
    unknown column or function, or a table that is not an event data store ID."""


class QueryIdNotFoundException(QueryError):
    """No query with that ID in the caller's account (or it is older than 7 days)."""

    default_message = "The query ID does not exist or does not map to a query."


class InactiveQueryException(QueryError):
    """CancelQuery on a query that already ended."""

    default_message = "The specified query cannot be canceled because it is in the FINISHED, FAILED, TIMED_OUT, or CANCELLED state."


class MaxConcurrentQueriesException(QueryError):
    """Too many queries queued or running in the account."""


class InvalidDateRangeException(QueryError):
    """ListQueries with StartTime after EndTime."""

    default_message = "A date range for the query was specified that is not valid. Be sure that the start time is chronologically before the end time."


class InvalidQueryStatusException(QueryError):
    """ListQueries with a QueryStatus that is not one of the query statuses."""


class InvalidNextTokenException(QueryError):
    """A NextToken this server did not issue for that query or list."""

    default_message = "A token that is not valid, or a token that was previously used in a request with different parameters."


class InvalidMaxResultsException(QueryError):
    """MaxResults out of range."""


#: Every query error class.
QUERY_ERRORS: tuple[type[QueryError], ...] = (
    InvalidQueryStatementException, QueryIdNotFoundException, InactiveQueryException,
    MaxConcurrentQueriesException, InactiveEventDataStoreException, EventDataStoreNotFoundException,
    InvalidDateRangeException, InvalidNextTokenException, InvalidMaxResultsException, InvalidQueryStatusException,
)
