"""paperfeed on the web: the pages and the JSON API (see ``app.create_app``)."""
