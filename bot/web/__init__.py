"""The web chat page and its small JSON API in front of Rasa's REST channel (see ``bot.web.app``)."""
