"""Rasa input/output channels (SMS, Telegram) and the shared rendering of replies."""
