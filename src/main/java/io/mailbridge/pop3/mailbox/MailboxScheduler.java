package io.mailbridge.pop3.mailbox;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs the POP3 sessions of one task's mailboxes on a bounded set of threads, each session handing its records to
 * the task's {@link RecordQueue} as they are made. Each mailbox has at most one session at a time; the thread that
 * becomes free takes the mailbox whose turn comes first. A session that outlives {@code session.timeout.ms} is
 * ended by closing its connection, so a server that trickles or stalls costs its own mailbox time, never another's.
 * {@link #stop} closes every open connection and waits for the threads, so no session of a stopped task is still
 * open when its replacement starts.
 */
public final class MailboxScheduler {

    private static final Logger log = LoggerFactory.getLogger(MailboxScheduler.class);
    /** Longest wait before looking again at which mailbox is due (acknowledgements can make one due sooner). */
    private static final long MAX_IDLE_WAIT_MS = 200;

    private final List<MailboxPoller> pollers;
    private final RecordQueue queue;
    private final long sessionTimeoutMs;
    private final List<Thread> threads = new ArrayList<>();
    private final Set<MailboxPoller> running = new HashSet<>();
    private final ScheduledExecutorService watchdog;
    private volatile boolean stopping;
    private volatile MailboxFailure fatal;

    /**
     * @param threads how many sessions run at once; never more than there are mailboxes
     */
    public MailboxScheduler(String name, List<MailboxPoller> pollers, int threads, RecordQueue queue,
                            long sessionTimeoutMs) {
        this.pollers = List.copyOf(pollers);
        this.queue = queue;
        this.sessionTimeoutMs = sessionTimeoutMs;
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name + "-session-deadline");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        this.watchdog = timer;
        int n = Math.max(1, Math.min(threads, pollers.size()));
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(this::work, name + "-session-" + i);
            t.setDaemon(true);
            this.threads.add(t);
        }
    }

    public void start() {
        for (Thread t : threads) {
            t.start();
        }
    }

    /**
     * A failure that must stop the task: one that needs the user's attention, in a task whose only mailbox it is
     * (in a task with several mailboxes the others go on and the failing one is retried with a long back-off).
     */
    public MailboxFailure fatal() {
        return fatal;
    }

    /** Looks again at which mailbox is due: acknowledgements make deletes due. */
    public synchronized void wake() {
        notifyAll();
    }

    private void work() {
        MessageBuffer buffer = new MessageBuffer();
        while (!stopping) {
            MailboxPoller poller;
            try {
                poller = take();
            } catch (InterruptedException e) {
                return;
            }
            if (poller == null) {
                return;
            }
            ScheduledFuture<?> deadline = watchdog.schedule(() -> poller.abort("the session took longer than"
                    + " session.timeout.ms=" + sessionTimeoutMs), sessionTimeoutMs, TimeUnit.MILLISECONDS);
            try {
                poller.poll(System.currentTimeMillis(), buffer, queue::put);
                MailboxFailure failure = poller.lastFailure();
                if (failure != null && failure.userMustFix() && pollers.size() == 1 && !stopping) {
                    fatal = failure;
                }
            } catch (InterruptedException e) {
                return; // the task stops
            } catch (RuntimeException | Error e) {
                log.error("Mailbox {}: unexpected failure of the session thread", poller.id(), e);
            } finally {
                deadline.cancel(false);
                release(poller);
            }
        }
    }

    /** The idle mailbox whose turn comes first, once it is due; null when stopping. */
    private synchronized MailboxPoller take() throws InterruptedException {
        while (!stopping) {
            MailboxPoller next = null;
            long nextDue = Long.MAX_VALUE;
            for (MailboxPoller p : pollers) {
                if (running.contains(p)) {
                    continue;
                }
                long due = p.nextDueMs();
                if (next == null || due < nextDue) {
                    next = p;
                    nextDue = due;
                }
            }
            long wait = next == null ? MAX_IDLE_WAIT_MS : nextDue - System.currentTimeMillis();
            if (next != null && wait <= 0) {
                running.add(next);
                return next;
            }
            wait(Math.min(Math.max(1, wait), MAX_IDLE_WAIT_MS));
        }
        return null;
    }

    private synchronized void release(MailboxPoller poller) {
        running.remove(poller);
        notifyAll();
    }

    /**
     * Ends every session: closes the open connections (no QUIT, so nothing is deleted that was not committed) and
     * waits up to {@code timeoutMs} for the threads.
     */
    public void stop(long timeoutMs) {
        stopping = true;
        queue.close();
        synchronized (this) {
            notifyAll();
        }
        for (MailboxPoller p : pollers) {
            p.stop();
        }
        for (Thread t : threads) {
            t.interrupt();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        for (Thread t : threads) {
            try {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left > 0) {
                    t.join(left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (t.isAlive()) {
                log.warn("Session thread {} did not end within {} ms of the task stopping", t.getName(), timeoutMs);
            }
        }
        watchdog.shutdownNow();
    }
}
