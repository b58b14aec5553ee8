"""Interrupts `kilnc MODEL -o OUT/` with a signal once its temporary build directory exists, waits
for it to end (reaping it, so a SIGKILLed builder is gone), and prints what OUT holds, one entry
per line, with the builder's process id in a temporary directory's name replaced by PID.

  interrupt.py SIGNAL MODEL OUT
"""
import os
import re
import signal
import subprocess
import sys
import time

sig, model, out = getattr(signal, sys.argv[1]), sys.argv[2], sys.argv[3]


def default_signals():
    # lit may run tests with SIGINT ignored, which kilnc (rightly) keeps ignoring.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


proc = subprocess.Popen(["kilnc", model, "-o", out + "/"], stderr=subprocess.DEVNULL,
                        preexec_fn=default_signals)
deadline = time.time() + 60
while time.time() < deadline and proc.poll() is None:
    if os.path.isdir(out) and any(e.startswith(".kilnc-") for e in os.listdir(out)):
        break
    time.sleep(0.05)
if proc.poll() is not None:
    sys.exit(f"kilnc ended (status {proc.returncode}) before it could be interrupted")
time.sleep(0.5)  # into the build
proc.send_signal(sig)
status = proc.wait()
print(f"status {status}")
for entry in sorted(os.listdir(out)):
    print(re.sub(r"-[0-9]+@", "-PID@", entry))
