/**
 * How a web app uses the types openapi-typescript generates from openapi/openapi.json.
 *
 * `make typescript` generates rapport.d.ts and type-checks this file with `tsc --strict`: a
 * change to the document that breaks these uses (a field renamed, retyped or made optional, an
 * enumeration value added or dropped, a response that stops being JSON) fails the check.
 * Nothing here runs; it only has to compile.
 */
import type { components, operations } from "./rapport";

type Schemas = components["schemas"];
export type Contact = Schemas["ContactPublic"];
export type ContactCreate = Schemas["ContactCreate"];
export type ContactUpdate = Schemas["ContactUpdate"];
export type Circle = Schemas["Circle"];
export type FollowUp = Schemas["FollowUp"];
export type Problem = Schemas["Problem"];
export type SyncPage = Schemas["SyncPage"];

type OperationId = keyof operations;
/** The JSON body an operation answers with `status`. */
type Body<Op extends OperationId, Status extends keyof operations[Op]["responses"]> =
  operations[Op]["responses"][Status] extends { content: { "application/json": infer B } }
    ? B
    : never;
/** An operation's query parameters. */
type Query<Op extends OperationId> = NonNullable<operations[Op]["parameters"]["query"]>;

export type ContactPage = Body<"contacts-list", 200>;
export type SchedulerRun = Body<"scheduler-run", 200>;

// --- Calling the API ------------------------------------------------------------------------

/** A 4xx/5xx answer: every one is an RFC 9457 problem. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

export interface Session {
  baseUrl: string;
  accessToken: string;
}

async function request<T>(session: Session, path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${session.accessToken}`);
  const response = await fetch(`${session.baseUrl}${path}`, { ...init, headers });
  if (!response.ok) {
    throw new ApiError((await response.json()) as Problem);
  }
  return (await response.json()) as T;
}

function search(query: Record<string, string | number | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined) params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export function listContacts(session: Session, query: Query<"contacts-list">): Promise<ContactPage> {
  return request<ContactPage>(session, `/v1/contacts${search(query)}`);
}

export function createContact(
  session: Session,
  body: ContactCreate,
  idempotencyKey: string,
): Promise<Body<"contacts-create", 201>> {
  return request(session, "/v1/contacts", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
    body: JSON.stringify(body),
  });
}

// --- A create body and a merge patch ---------------------------------------------------------

export const newContact: ContactCreate = {
  full_name: "Grace Hopper",
  email: "grace@example.com",
  circle: "alumni",
  tags: ["compilers"],
  open_to: ["advice", "feedback"],
  cadence_days: 90,
};

// @ts-expect-error a circle is one of the enumerated circles, not free text
export const misfiled: ContactCreate = { full_name: "Ada Lovelace", circle: "colleague" };

// @ts-expect-error full_name is required
export const nameless: ContactCreate = { email: "someone@example.com" };

/** JSON merge patch: an absent field stays, null clears it. */
export const promotion: ContactUpdate = { title: "Rear Admiral", notes: null };

// --- The contact list page -------------------------------------------------------------------

/** Every circle needs a label: a new circle in the API fails this check until it has one. */
export const CIRCLE_LABELS: Record<Circle, string> = {
  coworker: "Co-worker",
  former_coworker: "Former co-worker",
  classmate: "Classmate",
  alumni: "Alumni",
  community: "Community",
  family: "Family",
  friend: "Friend",
  neighbour: "Neighbour",
  career_fair: "Career fair",
  online: "Online",
  other: "Other",
};

export interface ContactRow {
  id: string;
  name: string;
  subtitle: string;
  circle: string;
  tags: readonly string[];
  version: number;
  updatedAt: Date;
}

export function contactRow(contact: Contact): ContactRow {
  const subtitle = [contact.title, contact.organization].filter(Boolean).join(", ");
  return {
    id: contact.id,
    name: contact.full_name,
    subtitle,
    circle: CIRCLE_LABELS[contact.circle ?? "other"],
    tags: contact.tags ?? [],
    version: contact.version,
    updatedAt: new Date(contact.updated_at),
  };
}

/** One page of the list; `next_cursor` fetches the next, null on the last. */
export async function contactTable(
  session: Session,
  filter: { q?: string; circle?: Circle },
  cursor: string | null,
): Promise<{ rows: ContactRow[]; next: string | null }> {
  const page = await listContacts(session, { ...filter, cursor, limit: 50 });
  return { rows: page.items.map(contactRow), next: page.next_cursor };
}

// --- A problem response in a form ------------------------------------------------------------

/** A 422's field errors by the form field they belong to (`body.full_name` → `full_name`). */
export function formErrors(problem: Problem): Partial<Record<keyof ContactCreate | "form", string>> {
  const errors: Partial<Record<keyof ContactCreate | "form", string>> = {};
  for (const error of problem.errors ?? []) {
    const field = error.field.replace(/^body\./, "").split(".")[0] ?? "";
    const key = (field in newContact || field === "role" ? field : "form") as keyof typeof errors;
    errors[key] = errors[key] ?? error.message;
  }
  if (problem.status === 412) {
    errors.form = "Someone changed this contact meanwhile: reload it and try again.";
  } else if (problem.status === 429) {
    errors.form = problem.detail ?? problem.title;
  }
  return errors;
}

// --- Follow-ups on the dashboard -------------------------------------------------------------

function unreachable(value: never): never {
  throw new Error(`unexpected ${String(value)}`);
}

/** A switch over every follow-up type: a new type fails this check until it is handled. */
export function followUpLine(item: FollowUp): string {
  const late = item.days_overdue === 1 ? "1 day" : `${item.days_overdue} days`;
  switch (item.type) {
    case "reconnect":
      return `Get back in touch with ${item.contact_name} (${late} overdue)`;
    case "etiquette_task":
      return `A courtesy owed to ${item.contact_name}`;
    case "promise":
      return `You promised ${item.contact_name} some help`;
    case "nudge":
      return `Gently remind ${item.contact_name} of your ask`;
    default:
      return unreachable(item.type);
  }
}

/**
 * The scheduler answers a user's run or, for the service credential, an all-users run.
 * (`scope` tells them apart, but the document does not mark it required, so `"users" in run`
 * narrows instead.)
 */
export function runSummary(run: SchedulerRun): string {
  if ("users" in run) {
    return `${run.tasks_created} new tasks for ${run.users} users`;
  }
  return `${run.tasks_created} new tasks; ${run.follow_ups.items.length} things to do`;
}

// --- The offline copy: sync ------------------------------------------------------------------

type Changes = Schemas["SyncChanges"];
type Resource = keyof Changes;
type RecordOf<R extends Resource> = NonNullable<NonNullable<Changes[R]>["upserted"]>[number];

export type OfflineStore = { cursor: string | null } & {
  [R in Resource]: Map<string, RecordOf<R>>;
};

export function emptyStore(): OfflineStore {
  return {
    cursor: null,
    contacts: new Map(),
    interactions: new Map(),
    asks: new Map(),
    etiquette_tasks: new Map(),
  };
}

function applyChanges<R extends Resource>(records: Map<string, RecordOf<R>>, changes: Changes[R]) {
  for (const record of changes?.upserted ?? []) records.set(record.id, record);
  for (const id of changes?.deleted ?? []) records.delete(id);
}

/** Applies one page; true while the server has more (call again at once with the cursor). */
export function applySyncPage(store: OfflineStore, page: SyncPage): boolean {
  applyChanges<"contacts">(store.contacts, page.changes.contacts);
  applyChanges<"interactions">(store.interactions, page.changes.interactions);
  applyChanges<"asks">(store.asks, page.changes.asks);
  applyChanges<"etiquette_tasks">(store.etiquette_tasks, page.changes.etiquette_tasks);
  store.cursor = page.cursor;
  return page.has_more;
}

export async function sync(session: Session, store: OfflineStore): Promise<void> {
  try {
    let more = true;
    while (more) {
      const query: Query<"sync-changes"> = { cursor: store.cursor, limit: 200 };
      more = applySyncPage(store, await request<SyncPage>(session, `/v1/sync${search(query)}`));
    }
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 410) {
      Object.assign(store, emptyStore()); // the cursor outlived the tombstones: start over
      return sync(session, store);
    }
    throw error;
  }
}

/** What an interaction list row shows, straight from the offline copy. */
export function interactionsWith(store: OfflineStore, contactId: string): string[] {
  return [...store.interactions.values()]
    .filter((interaction) => interaction.contact_id === contactId)
    .sort((a, b) => b.occurred_at.localeCompare(a.occurred_at))
    .map((interaction) => `${interaction.occurred_at.slice(0, 10)} ${interaction.channel}`);
}
