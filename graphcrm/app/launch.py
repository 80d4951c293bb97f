"""Start the app server ready for its first visitor: ``python -m graphcrm.app.launch run serve.py
...`` takes ``streamlit``'s own arguments (``graphcrm demo`` and ``graphcrm bench app`` start
the app this way; ``streamlit run app.py`` works too, only colder).

Under plain ``streamlit run`` the first visitor pays for importing the app's modules (pandas,
SciPy, igraph, pyvis, ...: seconds on a busy machine) and for reading the analysis graph,
because Streamlit runs the script only when a browser connects. Here the modules are imported
before the server listens, and so is the analysis graph of ``$GRAPHCRM_STORE`` (the server
answers its health check once both are done: ``graphcrm demo`` prints the address then), and
so are the store's row counts every page shows (a pass over every table: 1–2 s at 10^5
clients, paid by the first click after signing in otherwise).
"""

from __future__ import annotations

import contextlib
import sys

# Streamlit's chart library: the first st.bar_chart (hubs, visit plan) imports it otherwise
# (0.7 s of that page's first visit on a busy machine)
import altair
from streamlit.web import cli

# the pages and their libraries: imported once, before the server listens
from graphcrm.app import (
    common,
    data,
    gaps,
    hubs,
    opmap,
    orphans,
    paths,
    penetration,
    rewards,
    visits,
)
from graphcrm.config import load_settings, store_location

#: the page modules and libraries this server process has imported (for the reader: what is warm)
PAGES = (data, gaps, hubs, opmap, orphans, paths, penetration, rewards, visits, altair)


def main() -> None:
    # read before the server listens: a read in the background would hold Python's lock
    # (unpickling) while the first visitor's sign-in page runs
    location = store_location(None)
    common.preload(location, load_settings(), wait=True)
    with contextlib.suppress(Exception):  # a store that cannot open is left for the page
        common.store_info(location)
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
