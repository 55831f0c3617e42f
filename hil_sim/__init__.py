"""Hardware-in-the-loop simulator: simulated detectors on real ptys, sockets and the bleak API."""
