"""矛盾纠纷排查化解台账: disputes found before they become petitions (建账 → 化解 → 销账, 升级,
转为信访事项), sensitive periods with daily 稳控 check-ins, and the monthly 排查情况表."""
