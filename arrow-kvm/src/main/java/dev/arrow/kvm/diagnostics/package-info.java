/**
 * What the host says about a guest that does not move: a vCPU thread's kernel task
 * ({@link dev.arrow.kvm.diagnostics.KernelTask}) and, when asked for, KVM's trace events for it
 * ({@link dev.arrow.kvm.diagnostics.KvmTraceSample}). Used in the reports of a stuck or slow guest; never on
 * a guest's hot path.
 */
package dev.arrow.kvm.diagnostics;
