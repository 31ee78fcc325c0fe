"""Where a server's time goes, thread by thread, while a benchmark runs (``--threads`` of
bench/bench_put_audit_events.py).

:data:`SERVER` is a ``python -c`` program that runs ``opentrail`` (argv as for the CLI, after the
output file) with one more daemon thread, the *sampler*: it sleeps :data:`TICK_S` again and again,
and on each wake-up reads every Python thread's CPU clock (``time.pthread_getcpuclockid``, ns).
How late it woke is what any thread wanting the GIL (a request thread) waits at that moment: the
GIL held by another thread, or no free core. Each late wake-up's delay is charged to the threads
that used CPU meanwhile, in proportion to their CPU.

The benchmark sends ``SIGUSR1`` at the start of its window and ``SIGUSR2`` at its end; at
``SIGUSR2`` the server writes JSON to the output file: per thread name (digits dropped, so a pool
counts once) the CPU seconds over the window, the CPU of threads that are not Python's (DuckDB's,
from ``/proc/self/task``), the sampler's wake-up delays (p50/p99/max, ms, and the seconds of delay
over 5 ms) and, per thread name, the seconds of those delays it used CPU during.
"""

from __future__ import annotations

#: Seconds between the sampler's wake-ups.
TICK_S = 0.005

SERVER = r"""
import json, os, re, signal, sys, threading, time
TICK = %(tick)r
out, sys.argv = sys.argv[1], ["opentrail", *sys.argv[2:]]
state = {"on": False, "cpu0": {}, "cpu": {}, "delays": [], "blame": {}, "native0": 0.0}

def _name(t):
    return re.sub(r"[-_ ]?\d+", "", t.name)

def _native():
    tids = {t.native_id for t in threading.enumerate()}
    total = 0.0
    for tid in os.listdir("/proc/self/task"):
        if int(tid) in tids:
            continue
        try:
            f = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return total

def _clocks():
    r = {}
    for t in threading.enumerate():
        if t.ident is None or t.name == "bench-sampler":
            continue
        try:
            r[t.ident] = (_name(t), time.clock_gettime(time.pthread_getcpuclockid(t.ident)))
        except (OSError, ProcessLookupError):
            pass
    return r

def _sample():
    last, due = _clocks(), time.perf_counter() + TICK
    while True:
        time.sleep(max(0.0, due - time.perf_counter()))
        woke = time.perf_counter()
        now = _clocks()
        if state["on"]:
            delay = woke - due
            state["delays"].append(delay)
            if delay > TICK:
                used = {k: v[1] - last[k][1] for k, v in now.items() if k in last and v[1] > last[k][1]}
                total = sum(used.values()) or 1.0
                for k, c in used.items():
                    state["blame"][now[k][0]] = state["blame"].get(now[k][0], 0.0) + delay * c / total
        last, due = now, max(due + TICK, woke)

def _start(*a):
    state["cpu0"] = {k: v for k, v in _clocks().items()}
    state["native0"] = _native()
    state["delays"], state["blame"], state["on"] = [], {}, True

def _stop(*a):
    state["on"] = False
    end = _clocks()
    cpu = {}
    for k, (name, c) in end.items():
        c0 = state["cpu0"].get(k, (name, 0.0))[1]
        cpu[name] = cpu.get(name, 0.0) + c - c0
    d = sorted(state["delays"]) or [0.0]
    pick = lambda q: d[min(len(d) - 1, int(q * len(d)))] * 1000
    json.dump({"thread_cpu_s": {k: round(v, 3) for k, v in sorted(cpu.items(), key=lambda x: -x[1])},
               "native_threads_cpu_s": round(_native() - state["native0"], 2),
               "sampler_delay_ms": {"p50": round(pick(0.5), 2), "p99": round(pick(0.99), 2),
                                    "max": round(d[-1] * 1000, 2), "samples": len(d)},
               "delay_over_tick_s": round(sum(x for x in d if x > TICK), 3),
               "delay_blame_s": {k: round(v, 3) for k, v in sorted(state["blame"].items(), key=lambda x: -x[1])}},
              open(out, "w"), indent=1)

signal.signal(signal.SIGUSR1, _start)
signal.signal(signal.SIGUSR2, _stop)
threading.Thread(target=_sample, name="bench-sampler", daemon=True).start()
from opentrail.cli import main
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
main()
""" % {"tick": TICK_S}
