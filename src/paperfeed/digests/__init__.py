"""Email digests: who gets them, what is in them, how they look, when they are due, and sending each exactly once.

Import the module you need; this package re-exports nothing. Lower modules never import higher ones:

    subscriptions.py   the rules of double opt-in (subscribe, confirm, unsubscribe, settings) and the confirmation mails
    schedule.py        when a digest is due for whom (``send_due``, ``send_period``), composing and recording them
    compose.py         what goes into a digest: the papers per topic, the sections, the subject
    emails.py          how the mails look (text and HTML parts, headers), with templates/ for the HTML
    outbox.py          sending owed mail exactly once: claim, send, mark, retries, bounces, stopping a run
    smtp.py            the SMTP client and which failures are worth retrying
    links.py           the site URL, signed confirm/unsubscribe links, the settings link, Message-IDs

Nothing here imports the doors (``web``, ``cli``); the SQL is ``store.subscriptions``'s.
"""
