"core's file and process helpers (issue 19, item 13): write_atomic respects the umask; a Forked child dies with a SIGKILLed parent."
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
from hwnb.core import write_atomic, atomic_path, can_fork


def test_write_atomic_respects_umask(tmp_path):
    old = os.umask(0o077)
    try: mode = write_atomic(tmp_path/'a.json', '{}').stat().st_mode & 0o777
    finally: os.umask(old)
    assert mode == 0o600
    old = os.umask(0o002)
    try: mode = write_atomic(tmp_path/'b.json', '{}').stat().st_mode & 0o777
    finally: os.umask(old)
    assert mode == 0o664


def test_write_atomic_keeps_an_existing_mode_and_honours_explicit_mode(tmp_path):
    p = tmp_path/'x.txt'; p.write_text('old'); p.chmod(0o640)
    write_atomic(p, 'new')
    assert (p.read_text(), p.stat().st_mode & 0o777) == ('new', 0o640)
    with atomic_path(tmp_path/'y.txt', mode=0o600) as t: t.write_text('y')
    assert (tmp_path/'y.txt').stat().st_mode & 0o777 == 0o600


def _alive(pid):
    try: os.kill(pid, 0)
    except ProcessLookupError: return False
    try:                                                  # a zombie (dead, not yet reaped by init) counts as gone
        return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError: return False


@pytest.mark.skipif(not can_fork(), reason='Forked needs fork on Linux')
def test_forked_child_dies_with_a_sigkilled_parent(tmp_path):
    pidfile = tmp_path/'child.pid'
    code = textwrap.dedent(f'''
        import os, time
        from pathlib import Path
        from hwnb.core import Forked
        def work():
            Path({str(pidfile)!r}).write_text(str(os.getpid()))
            time.sleep(600)
        f = Forked(work)
        time.sleep(600)
    ''')
    parent = subprocess.Popen([sys.executable, '-c', code])
    try:
        end = time.monotonic() + 60
        while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < end: time.sleep(0.05)
        child = int(pidfile.read_text())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL); parent.wait()
        end = time.monotonic() + 30                       # generous: a deadline, not a timing
        while _alive(child) and time.monotonic() < end: time.sleep(0.05)
        assert not _alive(child), f'child {child} outlived its SIGKILLed parent'
    finally:
        if parent.poll() is None: parent.kill()
        try: os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except (OSError, ValueError): pass
