# The project's AWS emulator: moto's server, with its DynamoDB made linearizable. moto's server answers
# requests on many threads and its TransactWriteItems and UpdateItem read, check and write
# an item without a lock, so two racing reservations can both pass their condition and one
# ADD is lost (seen: 11 of 10 slots granted). Real DynamoDB (and DynamoDB Local) serialise
# writes to an item; this wraps every DynamoDB read and write of moto in one lock and then
# runs moto's own server. SQS long polls are untouched, so they do not block each other.
import sys
import threading
from functools import wraps

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

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

if __name__ == "__main__":
    main(sys.argv[1:])
