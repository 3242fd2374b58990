"""Filters on `_id` and other fields, against the real store (FerretDB's build pushes the `_id` part
down to SQLite and checks the rest on the rows it reads: `scripts/provision.sh`)."""

from __future__ import annotations

from bson import ObjectId
from pymongo import MongoClient, ReturnDocument


def test_a_write_filtered_by_id_and_status_changes_only_a_document_matching_both(mongo_url: str) -> None:
    # given two running requests and an ended one
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    try:
        requests = client.get_database("pushdown")["requests"]
        running, other, ended = ObjectId(), ObjectId(), ObjectId()
        requests.insert_many(
            [
                {"_id": running, "status": "ACTIVE"},
                {"_id": other, "status": "ACTIVE"},
                {"_id": ended, "status": "ENDED"},
            ]
        )
        # when each is ended only if it still runs
        first = requests.find_one_and_update(
            {"_id": running, "status": "ACTIVE"}, {"$set": {"status": "ENDED"}}, return_document=ReturnDocument.AFTER
        )
        again = requests.find_one_and_update({"_id": ended, "status": "ACTIVE"}, {"$set": {"status": "ENDED"}})
        missed = requests.update_one({"_id": other, "status": "ENDED"}, {"$set": {"status": "EXPIRED"}})
        # then only the running one changed, and the others are as they were
        assert first is not None and first["status"] == "ENDED"
        assert again is None
        assert missed.matched_count == 0
        assert {d["_id"]: d["status"] for d in requests.find()} == {running: "ENDED", other: "ACTIVE", ended: "ENDED"}
    finally:
        client.drop_database("pushdown")
        client.close()
