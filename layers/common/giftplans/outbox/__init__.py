"""The outbox: what a committed change tells people (email) and the company's app (domain events).

The table is the outbox. Every transition writes its items with a new `version` and a
`last_action` (docs/design.md, "What each transition writes"); DynamoDB Streams hands
each committed change, with its old and new images, to two functions, and a change that
did not commit is not in the stream, so it sends nothing:

    stream record --notices--> [Notice]   what the change calls for (pure: no I/O)
        Notice.email --rendering (templates)--> subject, text, HTML
            --sending--> SES, once per notice (the `mailer` function)
        Notice.event --publishing--> EventBridge, at least once (the `events_publisher` function)
    SES bounce / complaint (SNS) --feedback--> the invitation's seat marked (the `ses_feedback` function)

Side effects are passed in: `sending.handle_record(record, sender)` takes a `Sender`
(`sending.SesSender` deployed), `publishing.publish(records, bus)` a `Bus`
(`publishing.EventBridge`); each function's `app.build(...)` wires them, and tests pass fakes.
"""
