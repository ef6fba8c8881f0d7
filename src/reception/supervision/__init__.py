"""督查督办: the district checking the work itself — the monthly spot check of the base units'
cases (抽查, its checklist, findings and their 整改) and the 流调 of repeat and escalated matters
(cause, 办理过程 from the case's timeline, responsibility, a leader's sign-off)."""
