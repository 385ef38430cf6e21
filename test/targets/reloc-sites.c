/* reloc-sites.c — functions whose first instruction the kernel single-steps, for the tracer's
 * entry relocation (native-tracer/reloc.c): where an emulated instruction follows in straight-line
 * code, the entry timestamp moves there; where a jump lands in the prefix, the function has an
 * indirect jump, or the prefix writes an argument the stage reads, it must not. Prints "ready" and
 * calls every function in a loop (bursts of 200, 1 ms apart) until killed. Assembly, so the
 * compiler cannot change the bytes the tests are about. */
#include <stdio.h>
#include <unistd.h>

#define FN(name, body) ".p2align 4\n.globl " name "\n.type " name ",@function\n" name ":\n\t" body "\n.size " name ",.-" name "\n"
/* ~100 dependent multiply steps: a body of a few hundred ns, far below one single-step here */
#define WORK "mov $100,%ecx\n2:\n\timul %rax,%rax\n\tsub $1,%ecx\n\tjne 2b\n\t"
__asm__(".text\n"
	/* the shape of a GCC function without a frame pointer that starts by loading a global */
	FN("rs_mov_je", "mov rs_glob(%rip),%rsi\n\ttest %rsi,%rsi\n\tje 1f\n\t" WORK "1:\n\tret")
	/* a CET build (Debian's default): endbr64, then the frame pointer push */
	FN("rs_endbr_push", "endbr64\n\tpush %rbp\n\tmov %rsp,%rbp\n\t" WORK "pop %rbp\n\tret")
	/* a loop whose head is in the prefix: a timestamp at the jne would fire three times a call */
	FN("rs_loop_back", "mov $3,%edx\n1:\n\tsub $1,%edx\n\tjne 1b\n\tret")
	/* writes arg1 (%rsi) before its first emulated instruction */
	FN("rs_arg_clobber", "xor %esi,%esi\n\tjmp 1f\n1:\n\t" WORK "ret")
	/* an indirect jump could land anywhere, the prefix included */
	FN("rs_indirect", "mov %rdi,%rax\n\ttest %rax,%rax\n\tje 1f\n\tjmp *%rax\n1:\n\tret"));

volatile unsigned long rs_glob = 1;
void rs_mov_je(void), rs_endbr_push(void), rs_loop_back(void), rs_arg_clobber(void);
void rs_indirect(unsigned long target);

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (;;) {
		for (int i = 0; i < 200; i++) {
			rs_mov_je();
			rs_endbr_push();
			rs_loop_back();
			rs_arg_clobber();
			rs_indirect(0);
		}
		usleep(1000);
	}
}
