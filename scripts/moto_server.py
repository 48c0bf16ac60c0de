# The project's AWS emulator: moto's server, with its DynamoDB made linearizable. moto's server answers
# requests on many threads and its TransactWriteItems and UpdateItem read, check and write
# an item without a lock, so two racing reservations can both pass their condition and one
# ADD is lost (seen: 11 of 10 slots granted). Real DynamoDB (and DynamoDB Local) serialise
# writes to an item; this wraps every DynamoDB read and write of moto in one lock and then
# serves moto's app (under waitress, for keep-alive: see the end). SQS long polls are
# untouched, so they do not block each other.
import copy
import sys
import threading
from functools import wraps

from moto.dynamodb.models import DynamoDBBackend

_lock = threading.RLock()

for name in ("put_item", "get_item", "query", "scan", "update_item", "delete_item",
             "transact_write_items", "transact_get_items", "batch_get_item"):
    original = getattr(DynamoDBBackend, name, None)
    if original is None:
        continue

    def locked(*args, __original=original, **kwargs):
        with _lock:
            return __original(*args, **kwargs)

    setattr(DynamoDBBackend, name, wraps(original)(locked))


def _locked_call(function, *args, **kwargs):
    with _lock:
        return function(*args, **kwargs)


# moto's TransactWriteItems deep-copies every table it touches before writing (to roll back on
# failure): each transition then costs O(all tasks + all events), and a benchmark with a
# thousand tasks spends its time copying tables (seen: moto at 3.4 GB, submissions stalled).
# Under the lock above a transaction can instead check every condition against the state
# before it (as DynamoDB does; an item appears at most once per transaction), then apply its
# writes, keeping copies of just the items it changes in case one write is refused.
from moto.dynamodb.exceptions import (  # noqa: E402
    ConditionalCheckFailed,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.comparisons import get_filter_expression  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402


def _transact_key(backend, op_type, op):
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def transact_write_items(self, transact_items):
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    ops, seen, errors = [], set(), []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        key = _transact_key(self, op_type, op)
        unique = (op["TableName"], str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        current = self.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        error = (None, None, None)
        if condition is not None and not get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current):
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            error = ("ConditionalCheckFailed", ConditionalCheckFailed().message, old)
        errors.append(error)
        # A Put or Delete replaces the stored item object and leaves `current` intact; only
        # an Update changes it in place, so only an Update needs a copy to roll back to.
        ops.append((op_type, op, key, copy.deepcopy(current) if op_type == "Update" else current))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    applied = []
    try:
        for op_type, op, key, before in ops:
            name = op["TableName"]
            if op_type == "Put":
                self.put_item(name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(name, key)
            elif op_type == "Update":
                self.update_item(
                    name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=op.get("ExpressionAttributeNames"),
                    expression_attribute_values=op.get("ExpressionAttributeValues"),
                )
            applied.append((name, key, before))
    except Exception:
        for name, key, before in reversed(applied):
            table = self.get_table(name)
            if before is None:
                rng = key.get(table.range_key_attr) if table.range_key_attr else None
                table.delete_item(
                    DynamoType(key[table.hash_key_attr]), DynamoType(rng) if rng else None
                )
            elif before.range_key is not None:
                table.items[before.hash_key][before.range_key] = before
            else:
                table.items[before.hash_key] = before
        raise


DynamoDBBackend.transact_write_items = wraps(DynamoDBBackend.transact_write_items)(
    lambda *args, **kwargs: _locked_call(transact_write_items, *args, **kwargs)
)

# moto turns every answer into JSON through botocore's service model, which costs ~2.5 ms of
# CPU per item read: a Query of a thousand tasks held the server (and, through Python's GIL,
# every other request) for 2-3 s. The data-plane answers are already DynamoDB JSON; they go
# out with json.dumps (the same document, checked field for field); anything else (a table
# description with dates, an error) takes moto's own way.
import json  # noqa: E402

from moto.core.responses import ActionResult, PaginatedResult  # noqa: E402
from moto.dynamodb.responses import DynamoHandler  # noqa: E402

_PLAIN_JSON_ACTIONS = {
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
    "BatchWriteItem", "TransactWriteItems", "TransactGetItems",
}
_model_serialized = DynamoHandler.serialized


def _serialized(self, action_result):
    result = action_result.result
    if (
        isinstance(action_result, ActionResult)
        and not isinstance(action_result, PaginatedResult)
        and isinstance(result, dict)
        and self._get_action() in _PLAIN_JSON_ACTIONS
    ):
        try:
            body = json.dumps(result)
        except TypeError:
            return _model_serialized(self, action_result)
        return 200, {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}, body
    return _model_serialized(self, action_result)


DynamoHandler.serialized = _serialized

# Two per-request costs of moto's server, measured with py-spy under bench:throughput: finding
# a request's backend lists moto's package directory and tries hundreds of URL patterns, all
# under one lock (the answer for a host never changes: it is remembered), and werkzeug logs
# every request line through a locked handler (only errors are logged).
import logging  # noqa: E402

from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402

_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_backends_by_host = {}


def _remembered_backend_for_host(self, host):
    if host not in _backends_by_host:
        _backends_by_host[host] = _backend_for_host(self, host)
    return _backends_by_host[host]


DomainDispatcherApplication.get_backend_for_host = _remembered_backend_for_host
logging.getLogger("werkzeug").setLevel(logging.ERROR)

# Two more per-request costs of moto's SQS, seen with py-spy (--gil) under the same load: each
# message a receive hands out checks its retention period through get_queue_attributes, which
# computes every attribute of the queue (counting all its messages) twice; and every "now" goes
# through naive datetimes (utcnow - epoch). The same values, computed directly.
import time  # noqa: E402

import moto.sqs.models as _sqs_models  # noqa: E402

_unix_time = _sqs_models.unix_time
_unix_time_millis = _sqs_models.unix_time_millis
_sqs_models.unix_time = lambda dt=None: time.time() if dt is None else _unix_time(dt)
_sqs_models.unix_time_millis = (
    lambda dt=None: time.time() * 1000.0 if dt is None else _unix_time_millis(dt)
)


def _valid_for_retention(self, queue_name, message):
    retention_seconds = int(self.get_queue(queue_name).message_retention_period)
    return retention_seconds + message.sent_timestamp / 1000 > time.time()


_sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _valid_for_retention

# A Query or Scan with a ProjectionExpression (the reconciler reads tasks as briefs) made
# moto turn every matching item whole into plain JSON, deep-copying each value, and back, to
# keep a few attributes: under bench:throughput that was ~30 % of the emulator's CPU. The
# same attributes are taken from the item directly here; paths with a list index go to moto's.
from moto.dynamodb.models.dynamo_type import Item  # noqa: E402

_project = Item.project


def _projected(attrs, path):
    """{name: value} holding only `path` of attrs (nested maps kept as maps), or None."""
    value = attrs.get(path[0])
    if value is None:
        return None
    if len(path) == 1:
        return {path[0]: value}
    if not value.is_map():
        return None
    inner = _projected(value.value, path[1:])
    return None if inner is None else {path[0]: DynamoType({"M": inner})}


def _merge(into, more):
    for name, value in more.items():
        kept = into.get(name)
        if kept is not None and kept.is_map() and value.is_map():
            both = dict(kept.value)
            _merge(both, value.value)
            into[name] = DynamoType({"M": both})
        else:
            into[name] = value


def _fast_project(self, projection_expressions):
    if any("[" in part for path in projection_expressions for part in path):
        return _project(self, projection_expressions)
    kept = {}
    for path in projection_expressions:
        _merge(kept, _projected(self.attrs, path) or {})
    # Item() wraps each value anew, so the projection shares nothing with the stored item.
    return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=kept)


Item.project = _fast_project

# Keep-alive. werkzeug's server (moto's own) answers every request with "Connection: close"
# and then waits 10 ms to drain the socket, so each AWS call of every process paid a TCP
# connect, a new server thread and a teardown: in CPU profiles of a worker under load,
# connecting alone was ~8 % of its time. waitress keeps connections open (HTTP/1.1) and
# serves from a pool of threads; a long poll holds one for up to 20 s, hence a large pool
# (CUBE_EMULATOR_THREADS, default 256; idle threads cost little). Without waitress installed
# the script falls back to moto's werkzeug server.
import argparse  # noqa: E402
# moto's Query collects its candidates by walking every item of the table, sorted
# (Table.all_items), whatever the key: a Query of one partition costs O(table), where DynamoDB's
# costs O(partition). With 100,000 finished tasks (bench:history) each Query took a large part
# of a second. Here a Query sees only its partition: the base table's own dict, or for an
# index a map from the index's partition key to its items, rebuilt after any write (cheaper
# than the sorted walk it replaces even then). moto's query does the rest as before.
import inspect  # noqa: E402
from bisect import bisect_left  # noqa: E402

from moto.dynamodb.models.table import Table  # noqa: E402

# Writes per table (bumped before and after each write), so a cached index map is rebuilt only
# after a write to its own table.
_write_generation = {}


def _written_tables(name, args, kwargs):
    if name == "transact_write_items":
        items = args[0] if args else kwargs.get("transact_items", [])
        return {op.get("TableName") for item in items for op in item.values()}
    if name == "batch_write_item":
        return set((args[0] if args else kwargs.get("table_map", {})).keys())
    return {args[0] if args else kwargs.get("table_name")}


for _name in ("put_item", "update_item", "delete_item", "transact_write_items",
              "batch_write_item"):
    _write = getattr(DynamoDBBackend, _name, None)
    if _write is None:
        continue

    def _counted(self, *args, __write=_write, __name=_name, **kwargs):
        tables = _written_tables(__name, args, kwargs)
        with _lock:
            for table in tables:
                _write_generation[table] = _write_generation.get(table, 0) + 1
            try:
                return __write(self, *args, **kwargs)
            finally:
                for table in tables:
                    _write_generation[table] += 1

    setattr(DynamoDBBackend, _name, wraps(_write)(_counted))

_table_query = Table.query
_query_signature = inspect.signature(_table_query)


def _index_map(table, attribute, sort_attribute=None):
    """
    The table's items by their value of `attribute`, or of (`attribute`, `sort_attribute`),
    rebuilt after a write to the table.
    """
    cache = table.__dict__.setdefault("_cube_index_cache", {})
    entry = cache.get((attribute, sort_attribute))
    current = _write_generation.get(table.name, 0)
    if entry is None or entry[0] != current:
        generation = current
        by_value = {}
        for held in table.items.values():
            for item in (held.values() if table.range_key_attr else [held]):
                key = item.attrs.get(attribute)
                if key is None:
                    continue
                if sort_attribute is not None:
                    key = (key, item.attrs.get(sort_attribute))
                by_value.setdefault(key, []).append(item)
        entry = (generation, by_value)
        cache[(attribute, sort_attribute)] = entry
    return entry[1]


def _index_hash_attribute(table, index_name):
    index = table.get_index(index_name)
    return next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")


def _partition_items(table, hash_key, index_name, hash_conditions, range_conditions):
    if not index_name:
        if hash_key is None or hash_key not in table.items:
            return []
        held = table.items[hash_key]
        return list(held.values()) if table.range_key_attr else [held]
    attribute = _index_hash_attribute(table, index_name)
    values = [value for name, value in (hash_conditions or []) if name == attribute]
    if len(values) != 1:
        return None
    # An equality on the sort key reads just those items (a worker's tasks in one state).
    equal = [c for c in (range_conditions or []) if c[1] == "="]
    if len(range_conditions or []) == 1 and equal:
        sort_attribute, _, sort_values = equal[0]
        by_pair = _index_map(table, attribute, sort_attribute)
        return list(by_pair.get((values[0], sort_values[0]), []))
    return list(_index_map(table, attribute).get(values[0], []))




def _indexed_items(self, index_name):
    """A Scan of an index reads the items that have its keys (a sparse index: few)."""
    index = self.get_index(index_name)
    columns = {k["AttributeName"] for k in index.schema}
    attribute = _index_hash_attribute(self, index_name)
    return [
        item
        for items in _index_map(self, attribute).values()
        for item in items
        if columns.issubset(item.attrs)
    ]


Table.has_idx_items = _indexed_items


def _meets(item, condition):
    """A sort key condition DynamoDB reads by (`=`, begins_with); others are left to moto."""
    name, comparison, values = condition
    value = item.attrs.get(name)
    if value is None:
        return False
    if comparison == "=":
        return value == values[0]
    if comparison == "BEGINS_WITH":
        return isinstance(value.value, str) and value.value.startswith(values[0].value)
    return True


# moto then sorts the whole partition for every Query, however small its Limit (the first
# page of `cube ps --all` at 100,000 finished tasks sorted 33,000 items per request). Here
# an index partition is sorted once per write generation, and moto is handed only the
# window a page reads (Limit + 1 items after ExclusiveStartKey, in the scan's direction):
# DynamoDB's Limit counts the items read before any filter, so the window is exact.
_sorted_cache = {}
_SORTED_CACHE_ENTRIES = 256


def _window(self, given, key, generation, cached):
    """
    moto's sorted_items for this query: the partition sorted (`cached`, or sorted now and kept
    under the write generation read before the partition was), cut to the page.
    """

    def sorted_items(hash_attrs, range_attrs, items):
        full = cached
        if full is None:
            full = Table.sorted_items(self, hash_attrs, range_attrs, list(items))
            if len(_sorted_cache) >= _SORTED_CACHE_ENTRIES:
                _sorted_cache.clear()
            _sorted_cache[key] = (generation, full)
        limit = given.get("limit")
        start_key = given.get("exclusive_start_key")
        forward = given.get("scan_index_forward") is not False

        def before(i, direction):
            return self._item_comes_before_dct(full[i], start_key, hash_attrs, range_attrs, direction)

        everything = range(len(full))
        if forward:
            start = bisect_left(everything, True, key=lambda i: not before(i, True)) if start_key else 0
            return full[start:] if limit is None else full[start:start + limit + 1]
        end = bisect_left(everything, True, key=lambda i: before(i, False)) if start_key else len(full)
        return full[:end] if limit is None else full[max(0, end - limit - 1):end]

    return sorted_items


def _partition_query(self, *args, **kwargs):
    bound = _query_signature.bind(self, *args, **kwargs)
    given = bound.arguments
    index_name = given.get("index_name")
    range_conditions = given.get("range_key_conditions") or []
    generation = _write_generation.get(self.name, 0)
    candidates = _partition_items(
        self,
        given.get("hash_key"),
        index_name,
        given.get("hash_key_conditions"),
        range_conditions,
    )
    if candidates is None:
        return _table_query(self, *args, **kwargs)
    windowed = (
        index_name
        and not given.get("filter_kwargs")
        and all(c[1] in ("=", "BEGINS_WITH") for c in range_conditions)
    )
    key = cached = None
    if windowed:
        key = (self.name, index_name, repr(given.get("hash_key_conditions")), repr(range_conditions))
        entry = _sorted_cache.get(key)
        if entry is not None and entry[0] == generation:
            cached = entry[1]
            candidates = []  # the window comes from the cache: nothing to walk
    # Within the partition, only the sort key range the condition names is read.
    for condition in range_conditions:
        candidates = [item for item in candidates if _meets(item, condition)]
    self.all_items = lambda: candidates
    if windowed:
        self.sorted_items = _window(self, given, key, generation, cached)
    try:
        return _table_query(self, *args, **kwargs)
    finally:
        del self.all_items
        if windowed:
            del self.sorted_items


Table.query = _partition_query


import os  # noqa: E402

from moto.moto_server.werkzeug_app import create_backend_app  # noqa: E402


def _serve(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    try:
        from waitress import serve
    except ImportError:
        from moto.server import main

        return main(argv)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    serve(
        DomainDispatcherApplication(create_backend_app),
        host=args.host,
        port=args.port,
        threads=int(os.environ.get("CUBE_EMULATOR_THREADS", "256")),
        connection_limit=4096,
        # Idle keep-alive connections close after 5 minutes; clients reconnect (and retry).
        channel_timeout=300,
        asyncore_use_poll=True,
        ident="moto",
    )


if __name__ == "__main__":
    _serve(sys.argv[1:])
