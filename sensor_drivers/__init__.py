"""Gas-detector drivers: pure protocol parsers, serial and BLE transports, detector sessions."""
