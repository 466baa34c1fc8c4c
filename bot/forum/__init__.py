"""The Parent Carer Forum's view of the surveys: aggregates with small numbers suppressed, themes in free text,
the export writers and the "you said, we did" updates. It reads only what ``bot.surveys.store`` holds (anonymised
answers), so nothing here ever sees a sender id or an unredacted word."""
