"""What the benchmarks and the tests share and no product package ships: a throwaway
PostgreSQL cluster (:mod:`bench.support.throwaway_pg`) and ``cspermit server run`` as a
process (:mod:`bench.support.server_process`)."""
