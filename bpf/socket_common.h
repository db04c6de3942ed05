/* Helpers shared by the kernel programs that read sockets (counters, series and events are in
 * receiver_common.h). Header-only: every function is
 * inlined into the program that calls it, so map pointers stay constant for the verifier. */
#ifndef TCPSCOPE_SOCKET_COMMON_H
#define TCPSCOPE_SOCKET_COMMON_H

#ifndef AF_INET6
#define AF_INET6 10
#endif

/* Copies a socket's tuple and network namespace into any struct with the fields family, sport,
 * dport (host order), saddr, daddr (16 bytes: IPv4 in the first 4, rest zero) and netns_inode.
 * `sk` must be a BTF pointer (tp_btf arguments): the reads are direct. */
#define TCPSCOPE_READ_TUPLE(sk, dst)                                                                  \
	do {                                                                                          \
		(dst)->family = (sk)->__sk_common.skc_family;                                          \
		(dst)->sport = (sk)->__sk_common.skc_num;                                              \
		(dst)->dport = bpf_ntohs((sk)->__sk_common.skc_dport);                                 \
		__builtin_memset((dst)->saddr, 0, 16);                                                 \
		__builtin_memset((dst)->daddr, 0, 16);                                                 \
		if ((dst)->family == AF_INET6) {                                                       \
			__builtin_memcpy((dst)->saddr, (sk)->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16); \
			__builtin_memcpy((dst)->daddr, (sk)->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16); \
		} else {                                                                               \
			__u32 tuple_saddr = (sk)->__sk_common.skc_rcv_saddr;                           \
			__u32 tuple_daddr = (sk)->__sk_common.skc_daddr;                               \
			__builtin_memcpy((dst)->saddr, &tuple_saddr, 4);                               \
			__builtin_memcpy((dst)->daddr, &tuple_daddr, 4);                               \
		}                                                                                      \
		(dst)->netns_inode = (sk)->__sk_common.skc_net.net->ns.inum;                           \
	} while (0)

/* The socket behind file descriptor `fd` of the current task, or 0 (syscall tracepoints, where
 * only the fd is known). Read with probe reads: classic tracepoints have no BTF pointers. */
static __always_inline const struct sock *tcpscope_socket_of_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	struct file *file = 0;
	if (bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return 0;
	return BPF_CORE_READ(sock, sk);
}

#endif
