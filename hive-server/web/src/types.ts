// Wire shapes of the server's answers (hive-server/openapi.json).

export type TaskStatus =
  | 'pending'
  | 'waiting'
  | 'delayed'
  | 'assigned'
  | 'in_progress'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'dead_lettered';

export const TASK_STATUSES: TaskStatus[] = [
  'pending',
  'waiting',
  'delayed',
  'assigned',
  'in_progress',
  'completed',
  'failed',
  'cancelled',
  'dead_lettered',
];

export interface Task {
  id: string;
  task_type: string;
  payload: unknown;
  status: TaskStatus;
  priority: number;
  capabilities: string[];
  dependencies: string[];
  attempts: number;
  max_attempts: number;
  timeout: number;
  idempotency_key: string | null;
  traceparent: string | null;
  created_at: string;
  updated_at: string;
  run_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  lease_expires_at: string | null;
  worker: string | null;
  result: unknown;
  error: string | null;
  agent_name: string | null;
}

/** A card: what the board keeps of a task (a full task or what events told). */
export interface Card {
  id: string;
  task_type: string;
  status: TaskStatus;
  priority: number;
  capabilities: string[];
  created_at: string;
  worker: string | null;
  agent_name: string | null;
}

export interface TaskPage {
  tasks: Task[];
  next: string | null;
}

export interface Stats {
  stats: { counts: Partial<Record<TaskStatus, number>> };
  total: number;
}

export type AgentStatus = 'healthy' | 'unhealthy' | 'dead' | 'stopped';

export interface Agent {
  id: string;
  name: string;
  kind: string;
  capabilities: string[];
  status: AgentStatus;
  load: number;
  metadata: unknown;
  created_at: string;
  last_heartbeat: string;
}

export interface HiveEvent {
  seq: number;
  at: string;
  kind: string;
  subject: string;
  data: Record<string, unknown> | null;
}

export interface EventPage {
  events: HiveEvent[];
  next: number;
  seq: number;
}

export interface AttemptView {
  attempt: number;
  worker: string;
  agent_name: string | null;
  started_at: string;
  finished_at: string | null;
  outcome: string;
  error: string | null;
}

export interface Session {
  id: string;
  name: string;
  agents: string[];
  status: 'open' | 'closed';
  state: unknown;
  created_at: string;
  closed_at: string | null;
}

export interface ConversationEntry {
  id: string;
  session: string;
  seq: number;
  from_agent: string;
  to_agent: string | null;
  content: unknown;
  at: string;
}

export interface MetricsPoint {
  at: string;
  partial: boolean;
  completed: number;
  failed: number;
  dead_lettered: number;
  submitted: number;
  depth: Partial<Record<TaskStatus, number>>;
  wait_p50_ms: number | null;
  wait_p95_ms: number | null;
  run_p50_ms: number | null;
  run_p95_ms: number | null;
}

export interface SpendRow {
  agent: string;
  tasks: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  /** Tasks whose model had no known price (their cost is not in cost_usd). */
  unpriced_tasks?: number;
}

/** The answer of `GET /metrics/series`. */
export interface MetricsSeries {
  interval_secs: number;
  window_secs: number;
  intervals: MetricsPoint[];
  spend: SpendRow[];
  since: string;
}

export function seriesPoints(d: MetricsSeries): MetricsPoint[] {
  return Array.isArray(d.intervals) ? d.intervals : [];
}

/** The board's columns and the task statuses each shows (the contract). */
export type Column = 'pending' | 'waiting' | 'running' | 'completed' | 'failed' | 'cancelled';

export const COLUMNS: { key: Column; label: string; statuses: TaskStatus[] }[] = [
  { key: 'pending', label: 'Pending', statuses: ['pending'] },
  { key: 'waiting', label: 'Waiting / delayed', statuses: ['waiting', 'delayed'] },
  { key: 'running', label: 'Running', statuses: ['assigned', 'in_progress'] },
  { key: 'completed', label: 'Completed', statuses: ['completed'] },
  { key: 'failed', label: 'Failed / dead-lettered', statuses: ['failed', 'dead_lettered'] },
  { key: 'cancelled', label: 'Cancelled', statuses: ['cancelled'] },
];

export function columnOf(s: TaskStatus): Column {
  switch (s) {
    case 'pending':
      return 'pending';
    case 'waiting':
    case 'delayed':
      return 'waiting';
    case 'assigned':
    case 'in_progress':
      return 'running';
    case 'completed':
      return 'completed';
    case 'failed':
    case 'dead_lettered':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
  }
}

/** One group of `GET /outcomes/metrics`: the outcomes of finished tasks. */
export interface OutcomeMetrics {
  key: string | null;
  tasks: number;
  succeeded: number;
  dead_lettered: number;
  success_rate: number;
  dead_letter_rate: number;
  retries: number;
  p50_run_ms: number;
  p95_run_ms: number;
  p50_wait_ms: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  cost_per_task: number;
  mean_score: number | null;
  scored: number;
}

// ---- prompt experiments (GET /experiments, GET /experiments/{id}) ----------

export type ArmState = 'active' | 'winner' | 'futile' | 'guardrail' | 'exhausted';
export type ExperimentStatus = 'running' | 'awaiting_approval' | 'watching' | 'finished';
export type DecisionKind = 'winner' | 'futility' | 'guardrail' | 'inconclusive' | 'stopped';
export type WatchVerdict = 'kept' | 'rolled_back';

/** One arm: a prompt version with a name (`control`, `variant-1`, …). */
export interface Arm {
  name: string;
  version: string;
  state: ArmState;
  reason?: string | null;
}

export interface Guardrails {
  max_cost_increase?: number | null;
  max_p95_increase?: number | null;
  max_error_rate_increase?: number | null;
}

export type Allocation = { kind: 'fixed'; weights?: number[] } | { kind: 'thompson'; burn_in: number };

export interface Decision {
  kind: DecisionKind;
  arm?: string | null;
  reason: string;
  observations: number;
  at: string;
}

export interface Watch {
  promoted: string;
  replaced: string;
  baseline_arm: string;
  since: string;
  verdict?: WatchVerdict | null;
  reason?: string | null;
  at?: string | null;
}

/** An experiment as stored (`GET /experiments`). */
export type Experiment = {
  id: string;
  agent: string;
  label: string;
  arms: Arm[];
  metric: 'success' | 'score';
  guardrails: Guardrails;
  alpha: number;
  allocation: Allocation;
  weights: number[];
  seed: number;
  watch_holdback: number;
  started_by: string;
  approved_by?: string | null;
  status: ExperimentStatus;
  decision?: Decision | null;
  watch?: Watch | null;
  revision: number;
  created_at: string;
  updated_at: string;
  min_samples: number;
  max_samples: number;
  watch_samples: number;
};

/** An estimate of `variant − control` with its confidence sequence. */
export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}

/** One arm's figures on the latest look. */
export type ArmSummary = {
  name: string;
  version: string;
  state: ArmState;
  reason?: string | null;
  mean: number;
  difference?: Interval | null;
  success_rate: number;
  error_rate: number;
  tokens_per_task: number;
  cost_per_task?: number | null;
  p95_run_ms?: number | null;
  samples: number;
};

/** `GET /experiments/{id}`: the experiment with a look taken now. */
export interface ExperimentReport {
  experiment: Experiment;
  arms: ArmSummary[];
  /** The watched (promoted) version's figures, during a watch. */
  watch?: ArmSummary | null;
  assigned: number;
  observations: number;
}

// ---- the meta-agent's proposals (GET /proposals, GET /proposals/{id}) ------

export type ProposalKind = 'prompt' | 'config' | 'code';
export type ProposalStatus = 'proposed' | 'experimenting' | 'approved' | 'rejected' | 'refused';
export type Risk = 'low' | 'medium' | 'high';

/** The statuses `GET /proposals?status=` takes, in the order a proposal goes through them. */
export const PROPOSAL_STATUSES: ProposalStatus[] = ['proposed', 'experimenting', 'approved', 'rejected', 'refused'];

/** What a proposal rests on: the failed tasks it read and the metrics when it was written. */
export interface Evidence {
  tasks: string[];
  /** The agent's metrics per prompt version at the time (`key`: the version). */
  metrics: OutcomeMetrics[];
}

/** A proposal of the meta-agent. */
export interface Proposal {
  id: string;
  agent: string;
  kind: ProposalKind;
  status: ProposalStatus;
  summary: string;
  rationale: string;
  expected_effect: string;
  risk: Risk;
  /** The prompt version it wrote (a prompt proposal that passed the checks). */
  prompt_version?: string | null;
  /** The version that one was derived from. */
  parent_version?: string | null;
  /** The experiment trying it. */
  experiment?: string | null;
  /** The change, for a configuration or code proposal (or a refused prompt). */
  change?: unknown;
  evidence: Evidence;
  author: string;
  run: string;
  decided_by?: string | null;
  decision_reason?: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

/** `POST /meta/runs`: what one run of the meta-agent did. */
export interface MetaRunReport {
  run: string;
  agent: string;
  calls: number;
  tokens: number;
  cost_usd: number;
  proposals: Proposal[];
  /** Why it wrote nothing, when it did not. */
  note?: string | null;
}

/** One line of `GET /prompt-versions/{id}/diff`. */
export interface DiffLine {
  op: 'same' | 'removed' | 'added';
  line: string;
}

/** `GET /prompt-versions/{id}/diff?to=`: the line diff of two versions. */
export interface PromptDiff {
  from: string;
  to: string;
  lines: DiffLine[];
  text: string;
}

// ---- the self-modifier's change sets (GET /changes, GET /changes/{id}) -----

export type ChangeStatus = 'running' | 'awaiting_approval' | 'watching' | 'done' | 'rejected' | 'reverted' | 'failed';
export type ChangeStep = 'prepare' | 'generate' | 'static_gate' | 'tests' | 'bench' | 'review' | 'merge' | 'watch';
export type RiskClass = 'normal' | 'critical';
export type FileChangeKind = 'added' | 'modified' | 'deleted' | 'renamed' | 'type_changed';

/** The statuses `GET /changes?status=` takes, in the order a change set goes through them. */
export const CHANGE_STATUSES: ChangeStatus[] = ['running', 'awaiting_approval', 'watching', 'done', 'rejected', 'reverted', 'failed'];

/** The steps of a change set's state machine, in order (each one queue task). */
export const CHANGE_STEPS: ChangeStep[] = ['prepare', 'generate', 'static_gate', 'tests', 'bench', 'review', 'merge', 'watch'];

/** Where a change set's change comes from. */
export type ChangeSource = { kind: 'patch'; patch: string } | { kind: 'agent'; prompt: string };

/** One file of a change set's diff. */
export interface FileChange {
  path: string;
  old_path?: string | null;
  kind: FileChangeKind;
  symlink: boolean;
  executable: boolean;
  binary: boolean;
  insertions: number;
  deletions: number;
}

/** What a change set's diff changed, in numbers. */
export interface DiffStats {
  files: number;
  insertions: number;
  deletions: number;
  changes: FileChange[];
}

/** What the static gate decided from the diff alone. */
export interface StaticVerdict {
  refused: string[];
  critical: string[];
  added_tests: string[];
  changed_tests: string[];
  lines: number;
}

/** The benchmark gate's figures: the ratio of medians (candidate / base) with its bootstrap interval. */
export interface BenchFigures {
  base_ms: number[];
  candidate_ms: number[];
  ratio: number;
  low: number;
  high: number;
  confidence: number;
  /** The slowdown allowed (0.1 = 10 %). */
  max_slowdown: number;
  passed: boolean;
}

/** Who approved or rejected a change set, when and why. */
export interface ChangeDecision {
  by: string;
  at: string;
  reason: string;
}

/** One run of one step. */
export interface StepLog {
  step: ChangeStep;
  attempt: number;
  started_at: string;
  finished_at: string;
  passed: boolean;
  summary: string;
  output: string;
}

/** A change set. */
export interface ChangeSet {
  id: string;
  repository: string;
  target: string;
  title: string;
  description: string;
  source: ChangeSource;
  proposal?: string | null;
  requested_by?: string | null;
  status: ChangeStatus;
  step: ChangeStep;
  branch: string;
  base_commit?: string | null;
  head_commit?: string | null;
  diff?: DiffStats | null;
  static_verdict?: StaticVerdict | null;
  risk?: RiskClass | null;
  bench?: BenchFigures | null;
  decision?: ChangeDecision | null;
  approval_deadline?: string | null;
  rollback_tag?: string | null;
  merged_commit?: string | null;
  revert_commit?: string | null;
  reason?: string | null;
  logs: StepLog[];
  revision: number;
  created_at: string;
  updated_at: string;
}

/** `GET /repositories`: a repository the self-modifier may change, with its policy (the parts shown here). */
export interface Repository {
  name: string;
  target: string;
  policy: {
    allowed: string[];
    critical: string[];
    tests: string[];
    max_diff_lines: number;
    test: { command: string[]; timeout_secs: number };
    bench?: { command: string[]; runs: number; max_slowdown: number; confidence: number } | null;
    watch?: { command: string[]; window_secs: number; interval_secs: number } | null;
    approval_timeout_secs: number;
  };
}
