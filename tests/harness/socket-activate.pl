#!/usr/bin/perl
# Socket activation the way systemd does it, for tests on machines without systemd as init.
#
#   socket-activate.pl (--fd0 | --listen-fds) --listen PATH|HOST:PORT [--mode 0660]
#       [--backlog N] [--pidfile FILE] [--restart-sec S] -- COMMAND [ARGS...]
#
# Like a .socket unit, it binds and listens once (a blocking socket, unlinking a stale unix socket
# file first) and holds the socket for as long as it runs. Like the .service, it starts COMMAND
# with the socket on fd 0 (StandardInput=socket) or on fd 3 with LISTEN_FDS=1, LISTEN_PID and
# LISTEN_FDNAMES (no StandardInput=), restarts it on SIGHUP (systemctl restart: the socket
# stays, connections wait in the backlog), restarts it S seconds after a failure (Restart=
# on-failure, RestartSec=S; default 1), and on SIGTERM/SIGINT stops it (SIGTERM, SIGKILL after
# 5 s), removes the socket file and exits 0. COMMAND's pid is written to --pidfile at each start.
# Only core Perl (perl-base).
use strict;
use warnings;
use Socket;
use POSIX qw(dup2 :sys_wait_h);
use Fcntl qw(F_SETFD);

my ($fd0, $listen_fds, $listen, $mode, $backlog, $pidfile, $restart_sec) = (0, 0, undef, undef, 1024, undef, 1);
while (@ARGV && $ARGV[0] ne '--') {
    my $a = shift @ARGV;
    if    ($a eq '--fd0')        { $fd0 = 1 }
    elsif ($a eq '--listen-fds') { $listen_fds = 1 }
    elsif ($a eq '--listen')     { $listen = shift @ARGV }
    elsif ($a eq '--mode')       { $mode = oct(shift @ARGV) }
    elsif ($a eq '--backlog')    { $backlog = shift @ARGV }
    elsif ($a eq '--pidfile')    { $pidfile = shift @ARGV }
    elsif ($a eq '--restart-sec') { $restart_sec = shift @ARGV }
    else { die "socket-activate: unknown option $a\n" }
}
shift @ARGV if @ARGV && $ARGV[0] eq '--';
die "socket-activate: need --fd0 or --listen-fds, --listen and a command\n"
    unless ($fd0 xor $listen_fds) && defined $listen && @ARGV;

my $sock;
my $unix_path;
if ($listen =~ m{^/}) {
    $unix_path = $listen;
    unlink $unix_path;
    socket($sock, PF_UNIX, SOCK_STREAM, 0) or die "socket-activate: socket: $!\n";
    bind($sock, pack_sockaddr_un($unix_path)) or die "socket-activate: bind $unix_path: $!\n";
    chmod($mode, $unix_path) if defined $mode;
} elsif ($listen =~ /^([0-9.]+):(\d+)$/) {
    # Copied first: $1 and $2 are passed by alias, and inet_aton's own match would reset them.
    my ($host, $port) = ($1, $2);
    socket($sock, PF_INET, SOCK_STREAM, getprotobyname('tcp')) or die "socket-activate: socket: $!\n";
    setsockopt($sock, SOL_SOCKET, SO_REUSEADDR, 1) or die "socket-activate: setsockopt: $!\n";
    bind($sock, pack_sockaddr_in($port, inet_aton($host))) or die "socket-activate: bind $listen: $!\n";
} else {
    die "socket-activate: bad --listen $listen\n";
}
listen($sock, $backlog) or die "socket-activate: listen: $!\n";

my ($child, $restart, $stop) = (0, 0, 0);
$SIG{HUP}  = sub { $restart = 1 };
$SIG{TERM} = sub { $stop = 1 };
$SIG{INT}  = sub { $stop = 1 };

sub start_child {
    my $pid = fork();
    die "socket-activate: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        $SIG{$_} = 'DEFAULT' for qw(HUP TERM INT);
        if ($fd0) {
            dup2(fileno($sock), 0) or die "socket-activate: dup2: $!\n";
        } else {
            dup2(fileno($sock), 3) or die "socket-activate: dup2: $!\n" unless fileno($sock) == 3;
            # Perl marks fds above 2 close-on-exec; dup2 clears it, but not on fd 3 itself.
            fcntl($sock, F_SETFD, 0) or die "socket-activate: fcntl: $!\n" if fileno($sock) == 3;
            open(STDIN, '<', '/dev/null') or die "socket-activate: /dev/null: $!\n";
            $ENV{LISTEN_FDS} = 1;
            $ENV{LISTEN_PID} = $$;
            $ENV{LISTEN_FDNAMES} = 'sse-fcgi.socket';
        }
        exec { $ARGV[0] } @ARGV or die "socket-activate: exec $ARGV[0]: $!\n";
    }
    if (defined $pidfile) {
        open(my $fh, '>', "$pidfile.tmp") or die "socket-activate: $pidfile: $!\n";
        print $fh "$pid\n";
        close $fh;
        rename("$pidfile.tmp", $pidfile);
    }
    return $pid;
}

# Stop the child: SIGTERM, then SIGKILL after 5 s. Returns its wait status.
sub stop_child {
    return 0 unless $child;
    kill 'TERM', $child;
    for (1 .. 100) {
        my $r = waitpid($child, WNOHANG);
        if ($r == $child) { my $st = $?; $child = 0; return $st }
        select(undef, undef, undef, 0.05);
    }
    kill 'KILL', $child;
    waitpid($child, 0);
    my $st = $?;
    $child = 0;
    return $st;
}

$child = start_child();
# Ticks of the 50 ms loop below until a failed command is started again (0: none pending).
my $respawn_ticks = 0;
while (!$stop) {
    if ($restart) {
        $restart = 0;
        my $st = stop_child();
        print STDERR "socket-activate: restart: old process ended with status $st\n";
        $child = start_child();
    }
    if ($child) {
        my $r = waitpid($child, WNOHANG);
        if ($r == $child) {
            my $st = $?;
            $child = 0;
            print STDERR "socket-activate: process ended with status $st\n";
            $respawn_ticks = int($restart_sec * 20) + 1 if $st != 0;
        }
    }
    if (!$child && $respawn_ticks && --$respawn_ticks == 0) {
        $child = start_child();
    }
    select(undef, undef, undef, 0.05);
}
my $st = stop_child();
print STDERR "socket-activate: stopped; process ended with status $st\n" if $st;
close($sock);
unlink $unix_path if defined $unix_path;
exit 0;
