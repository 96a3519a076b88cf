"""The indexes of the typed-answer report (app.reads.answer_report), one set per database.

The report reads every request of a service to count those whose answers match. From the
table that is a row from all over it for each (30,000 for the busiest service at a million
requests); from an index that holds the service's requests side by side with all the
report reads, answers included, it is one stretch of the index.

SQLite takes the answers into an index whatever their size. PostgreSQL keeps an index
entry under a third of a page, which a long answer would not fit: its index holds the
requests whose answers are short (nearly all of them), and a second, small one finds the
others; the report reads both (SHORT_ANSWERS, in these words, so that PostgreSQL sees
each index answers its half).
"""

from sqlalchemy import Index, text

# The report's columns, in the order the index keeps them: a service's requests by id.
KEY = ("service_id", "id")
READ = ("state", "created_at", "closed_at", "version_id", "answers")
# Short enough for a PostgreSQL index entry with the other columns: its JSON text under
# 1000 bytes is at most about 2000 stored (a few bytes a key and value), under the 2704
# an entry may have.
SHORT_ANSWERS = "octet_length(answers::text) < 1000"


def report_indexes() -> tuple[Index, ...]:
    return (
        Index("ix_service_request_report", *KEY, *READ).ddl_if(dialect="sqlite"),
        Index("ix_service_request_report_short", *KEY, postgresql_include=list(READ),
              postgresql_where=text(SHORT_ANSWERS)).ddl_if(dialect="postgresql"),
        Index("ix_service_request_report_long", *KEY,
              postgresql_where=text(f"NOT ({SHORT_ANSWERS})")).ddl_if(dialect="postgresql"),
    )
