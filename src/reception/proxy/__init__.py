"""网格员代办: a grid worker (网格员) bound to a village files a matter on a petitioner's behalf
with the petitioner's consent (代办登记表), the township's clerk registers it (the repeat check
run, its clocks from the day the grid worker received it), the grid worker follows the
progress of his own matters only, and hands the petitioner a slip to rate the reply."""
