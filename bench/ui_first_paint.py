"""The web UI with many Executions: first paint of the executions list, and the UI's memory.

    python bench/ui_first_paint.py [N ...]      (default: 10 1000 3000)

For each N: an in-memory Kubernetes API double (tests/ui/kube_double.py) holds N Executions
shaped as the operator stores them (flow snapshot, task runs, 20 per execution); `kflow ui` runs
as its own process against it (a kubeconfig pointing there), and Debian's Chromium (Playwright)
opens /executions. Figures: time from navigation to the first row painted (median of 5), the
execution page of a 5,000-task-run Execution (archived chunks) to its task table (one page of
200 rows) and to its Gantt chart drawn (one bar per task above 1,500 runs), the JSON it was sent,
and the UI process's RSS after the pages were served. Ratios against N=10 in the same run are
what count.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ui.kube_double import ADMIN, KubeDouble  # noqa: E402
from tests.ui.resources import execution, taskrun  # noqa: E402


def kubeconfig(double: KubeDouble, folder: Path) -> Path:
    path = folder / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: double\n"
        f"clusters: [{{name: double, cluster: {{server: '{double.url}'}}}}]\n"
        f"users: [{{name: admin, user: {{token: {ADMIN}}}}}]\n"
        "contexts: [{name: double, context: {cluster: double, user: admin, namespace: team}}]\n"
    )
    return path


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(n: int, browser) -> dict[str, float]:
    double = KubeDouble().start()
    runs = [taskrun(f"t{i}", f"task{i}", "SUCCESS", start=i, end=i + 1) for i in range(20)]
    for i in range(n):
        double.put("executions", execution(f"run-{i:05d}", "FAILED" if i % 7 == 0 else "SUCCESS", runs=runs, start=i))
    big = [taskrun("loop", "loop", "SUCCESS")] + [taskrun(f"e{i}", "each", "SUCCESS", parent="loop", value=str(i)) for i in range(5000)]
    double.put("executions", execution("big", "SUCCESS", runs=big[:51], archived=[big[j:j + 50] for j in range(51, 5001, 50)]))
    with tempfile.TemporaryDirectory() as folder:
        config = kubeconfig(double, Path(folder))
        proc = subprocess.Popen([sys.executable, "-m", "kflow.cli.main", "ui", "--port", "18777", "--kubeconfig", str(config)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        url = re.search(r"http://\S+/", proc.stdout.readline()).group(0).rstrip("/")
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.goto(url + "/healthz")
            while '"ready": true' not in page.content():
                time.sleep(0.1)
                page.reload()
            paints = []
            for _ in range(5):
                start = time.perf_counter()
                page.goto(url + "/executions")
                page.locator("tr[data-execution]").first.wait_for()
                paints.append(time.perf_counter() - start)
            rss_list = rss_mib(proc.pid)
            bigs, gantts = [], []
            for _ in range(3):
                start = time.perf_counter()
                page.goto(url + "/executions/team/big")
                page.locator('tr[data-task="each"]').first.wait_for()
                bigs.append(time.perf_counter() - start)
                page.wait_for_function("() => { const img = document.getElementById('gantt-img'); return img && img.complete && img.naturalWidth > 0; }", timeout=120_000)
                gantts.append(time.perf_counter() - start)
            rows = page.locator("tr[data-taskrun]").count()
            sent = page.evaluate("performance.getEntriesByType('resource').filter(e => e.name.endsWith('/executions/team/big')).map(e => e.transferSize).pop()")
            return {"paint": statistics.median(paints), "big": statistics.median(bigs), "gantt": statistics.median(gantts), "rows": rows,
                    "sent": sent or 0, "rss_list": rss_list, "rss": rss_mib(proc.pid)}
        finally:
            proc.terminate()
            proc.wait(10)
            double.stop()


def main() -> None:
    from playwright.sync_api import sync_playwright

    sizes = [int(a) for a in sys.argv[1:]] or [10, 1000, 3000]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox"])
        results = {n: run(n, browser) for n in sizes}
        browser.close()
    base = results[sizes[0]]["paint"]
    print("executions  first paint of /executions (median of 5)  vs first  | 5,000-task-run page: task table, Gantt drawn, rows, JSON  | UI RSS after the list, after all")
    for n, r in results.items():
        print(f"{n:>10}  {r['paint'] * 1000:>8.0f} ms {r['paint'] / base:>27.1f}x  | {r['big'] * 1000:>8.0f} ms {r['gantt'] * 1000:>8.0f} ms {r['rows']:>5} "
              f"{r['sent'] / 1024:>6.0f} KiB | {r['rss_list']:.0f} MiB, {r['rss']:.0f} MiB")


if __name__ == "__main__":
    main()
