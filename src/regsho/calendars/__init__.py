"""Settlement and trading calendars (DESIGN principle 4).

Settlement days are NYSE scheduled sessions that are also Federal Reserve business days, plus unscheduled NYSE
closures on which DTC settled (an override table). Trading days are NYSE sessions. Session data comes from
``exchange_calendars`` (XNYS) and Federal Reserve holidays from ``holidays`` (XFED): both are maintained,
declarative holiday tables with validity windows, so this package only combines them.
"""

from regsho.calendars.calendar import (
    ET,
    CalendarRangeError,
    Calendars,
    default_calendars,
    regular_hours,
)

__all__ = ["ET", "CalendarRangeError", "Calendars", "default_calendars", "regular_hours"]
