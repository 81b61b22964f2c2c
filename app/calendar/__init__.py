"""The calendar feed: an iCalendar subscription of etiquette tasks and follow-ups."""
