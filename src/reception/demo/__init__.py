"""Demo data for trying the service (`reception demo`): the org chart, reception days, cases."""

from reception.demo.cases import load_cases, load_incidents, measured, portal_example
from reception.demo.ledger import load_ledger
from reception.demo.org import DemoLogin, load_org
from reception.demo.proxy import load_proxy
from reception.demo.schedule import load_schedule
from reception.demo.supervision import load_supervision

__all__ = [
    "DemoLogin",
    "load_cases",
    "load_incidents",
    "load_ledger",
    "load_org",
    "load_proxy",
    "load_schedule",
    "load_supervision",
    "measured",
    "portal_example",
]
