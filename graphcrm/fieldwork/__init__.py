"""Field work: orphan clients, the three-visit plan and the weekly visit calendar (issue 13).

Pure functions over the analysis graph (:class:`graphcrm.graph.AnalysisGraph`) and the store
interface; the commands (``graphcrm orphans``, ``visits``, ``calendar``) and the app pages are
thin layers above. The rules are stated in docs/fieldwork.md; every number is a setting in
:class:`graphcrm.config.OrphanSettings` and :class:`graphcrm.config.VisitSettings`.

* :mod:`graphcrm.fieldwork.orphans`: who is an orphan, who takes which orphan and why, the
  SERVES ties and notices an approved assignment writes.
* :mod:`graphcrm.fieldwork.visits`: the three-visit plan, recording attempts and visits, what
  is due, overdue and done.
* :mod:`graphcrm.fieldwork.calendar`: an agent's week by quadrant, events and due visits.
"""

from __future__ import annotations

#: ``source`` of a SERVES tie written by an approved orphan assignment starts with this
ASSIGNMENT_SOURCE = "orphans"
