"""Async probers: ICMP echo, HTTP GET, TCP connect. One instance of each per process."""
