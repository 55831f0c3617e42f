"""Simulated detectors: the device side of every protocol, on real ptys, sockets and
the bleak backend seam."""
