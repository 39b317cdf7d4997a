/* alloctop diff A B: compares two runs (recordings, -o json output, pprof profiles). */
#ifndef AT_DIFF_H
#define AT_DIFF_H

/* argv[0] is "diff". Returns the exit status. */
int at_diff_main(int argc, char **argv);

#endif
