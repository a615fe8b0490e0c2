// What every browser runner here ends with: the line "N passed, N failed" (one entry of
// `results` per check, true when it passed) and the exit code, also when main() throws.

/** Prints the summary line; returns the exit code (1 on a failure or when nothing ran). */
export function summarize(results) {
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

/** Runs main() and exits with its code; an exception counts as one more failure. */
export function exitWith(main, results) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.log(`# ${err?.stack ?? err}`);
      console.log(`${results.filter(Boolean).length} passed, ${results.filter((r) => !r).length + 1} failed`);
      process.exit(1);
    },
  );
}
