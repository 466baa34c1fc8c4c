"""The core of the SEND assistant: settings, storage, the web app; imports nothing from ``actions/`` or ``channels/``."""
