"""Custom actions for the Rasa action server; the SDK imports every module in this package."""
