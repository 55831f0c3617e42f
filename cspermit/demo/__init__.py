"""Demo data and the scripted walkthrough: application-shell code, never product code.

- :mod:`~cspermit.demo.molasses_tank`: the example permit (a sugar mill's molasses tank):
  ``cspermit permit demo-export``, the golden chain in ``tests/data/permits`` and the
  fuzz seeds.
- :mod:`~cspermit.demo.seed` and :mod:`~cspermit.demo.permit_history`: the server's demo
  bureau, enterprises, ledgers and permit history (``cspermit server seed-demo``).
- :mod:`~cspermit.demo.tablet`: the demo ledger of a fresh tablet (``cspermit tablet run
  --demo``) and a drawn signature for scripts.
- :mod:`~cspermit.demo.walkthrough`, :mod:`~cspermit.demo.rigs`,
  :mod:`~cspermit.demo.drive` and :mod:`~cspermit.demo.feed_waits`: the real tablet
  screens driven through a permit (``cspermit tablet walkthrough``).
- :mod:`~cspermit.demo.connect`: a tablet enrolled with a running server
  (``cspermit tablet connect``, for ``scripts/run.sh``).

No product package imports this one (an import-linter contract in ``pyproject.toml``).
"""
