#!/usr/bin/python3
"""A throwaway certificate authority for the tests: a CA, and a relay certificate for
localhost / 127.0.0.1 signed by it, made with the openssl command line tool."""
import os
import subprocess
import sys


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_test_ca(directory, names=("localhost",), addresses=("127.0.0.1",)):
    """Writes ca.pem, relay.pem and relay.key into `directory`; returns their paths."""
    os.makedirs(directory, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Nexus Relay test CA", cwd=directory)
    _openssl("req", *ec, "-keyout", "relay.key", "-out", "relay.csr",
             "-subj", "/CN=" + names[0], cwd=directory)
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{a}" for a in addresses])
    with open(os.path.join(directory, "ext.cnf"), "w") as ext:
        ext.write(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "relay.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "relay.pem", "-days", "2", "-extfile", "ext.cnf",
             cwd=directory)
    return {name: os.path.join(directory, name) for name in ("ca.pem", "relay.pem", "relay.key")}


if __name__ == "__main__":
    print(make_test_ca(sys.argv[1]))
