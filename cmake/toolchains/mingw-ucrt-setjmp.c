/* The Universal CRT leg's link shim (see x86_64-w64-mingw32-ucrt-clang-19.cmake): Debian's static
 * winpthreads was built against msvcrt and calls _setjmp; the UCRT exports the same function as
 * __intrinsic_setjmp. musttail makes this a jump, so setjmp records the caller's frame, not ours.
 */
int __intrinsic_setjmp(void* buffer, void* frame);
int _setjmp(void* buffer, void* frame) {
    __attribute__((musttail)) return __intrinsic_setjmp(buffer, frame);
}
