package dev.arrow.cli;

import dev.arrow.Arrow;
import dev.arrow.HostSupport;
import dev.arrow.spi.ArrowLauncher;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * The {@code arrow} command: {@code arrow run [OPTIONS] BINARY [ARGS...]} runs one arrow ({@link RunCommand}),
 * {@code arrow doctor} says whether this host can ({@link DoctorCommand}). {@code --help} and {@code --version}
 * print to stdout and exit 0; a bad command line prints the problem and the usage to stderr and exits 2; the
 * other statuses are in {@link ExitCodes}.
 */
@Command(name = "arrow", mixinStandardHelpOptions = true, versionProvider = ArrowCli.Version.class,
        description = "Runs one static Linux program in its own KVM microVM.",
        commandListHeading = "%nCommands:%n",
        footer = {"", "arrow COMMAND --help describes a command; arrow run --help lists its exit statuses."})
public final class ArrowCli implements Callable<Integer> {

    @Spec
    CommandSpec command;

    private final PrintStream err;

    private ArrowCli(PrintStream err) {
        this.err = err;
    }

    public static void main(String[] args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        int status = execute(args, null, Arrow::hostSupport, System.in, out, err);
        out.flush();
        err.flush();
        System.exit(status);
    }

    /**
     * Runs the command line {@code args} and returns the exit status.
     *
     * @param launcher the backend {@code run} uses, null for the one on the class path
     * @param probe    what {@code doctor} asks
     */
    static int execute(String[] args, ArrowLauncher launcher, Supplier<HostSupport> probe, InputStream in,
                       PrintStream out, PrintStream err) {
        return commandLine(launcher, probe, in, out, err).execute(args);
    }

    /** The command line, its subcommands and its error handling, over the given streams. */
    static CommandLine commandLine(ArrowLauncher launcher, Supplier<HostSupport> probe, InputStream in,
                                   PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new ArrowCli(err))
                .addSubcommand("run", new RunCommand(launcher, in, err))
                .addSubcommand("doctor", new DoctorCommand(probe, out));
        CommandLine run = cli.getSubcommands().get("run");
        run.setStopAtPositional(true); // after BINARY every word is the program's, options too
        run.getCommandSpec().usageMessage().exitCodeListHeading("%nExit status:%n").exitCodeList(ExitCodes.runHelp());
        cli.getSubcommands().get("doctor").getCommandSpec().usageMessage()
                .exitCodeListHeading("%nExit status:%n").exitCodeList(ExitCodes.doctorHelp());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setParameterExceptionHandler(ArrowCli::usageError);
        return cli;
    }

    /** {@code arrow} alone: the usage, as an error. */
    @Override
    public Integer call() {
        err.println("arrow: no command given");
        command.commandLine().usage(err);
        return ExitCodes.USAGE;
    }

    private static int usageError(ParameterException e, String[] args) {
        CommandLine where = e.getCommandLine();
        PrintWriter err = where.getErr();
        err.println("arrow: " + e.getMessage());
        err.println(where.getHelp().fullSynopsis().stripTrailing());
        err.println("'" + where.getCommandSpec().qualifiedName() + " --help' says more.");
        err.flush();
        return ExitCodes.USAGE;
    }

    /** {@code --version}: the project version this jar was built from. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties properties = new Properties();
            try (InputStream in = ArrowCli.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    properties.load(in);
                }
            }
            return new String[] {"arrow " + properties.getProperty("version", "(unknown version)")};
        }
    }
}
