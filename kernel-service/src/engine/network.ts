/**
 * Network: a labelled, seeded container of nodes, ensembles, connections,
 * probes and subnetworks. Objects are created through its methods
 * (`net.ensemble(...)`, `net.connect(...)`), which apply the defaults set in
 * `net.config` here or in any parent network (Nengo's config system).
 *
 * Seeds flow from parent to children as in Nengo: when the model is built, a
 * network's generator draws one seed per child in a fixed order (connections,
 * ensembles, networks, nodes, probes) whether or not the child has its own
 * seed, so giving an object a seed does not reseed its siblings (adding an
 * object before others of its kind does, as in Nengo).
 */
import { checkKnownOptions, ValidationError } from './errors.js';
import {
  Connection,
  Ensemble,
  Node,
  ObjView,
  Probe,
  type ConnectionOptions,
  type LearningRuleSpec,
  type EnsembleOptions,
  type NodeOptions,
  type NodeOutput,
  type PostTarget,
  type PreTarget,
  type ProbeOptions,
  type ProbeTarget,
} from './objects.js';

/** Defaults applied to objects created in a network (and its subnetworks). */
export interface NetworkConfig {
  ensemble: Partial<Omit<EnsembleOptions, 'label' | 'seed'>>;
  connection: Partial<Omit<ConnectionOptions, 'label' | 'seed'>>;
  probe: Partial<Omit<ProbeOptions, 'label' | 'seed'>>;
}

export interface NetworkOptions {
  label?: string;
  seed?: number;
  /** Register this network as a subnetwork of `parent`. */
  parent?: Network;
}
const NETWORK_OPTIONS = ['label', 'seed', 'parent'] as const;

export class Network {
  readonly typeName = 'Network';
  label: string | undefined;
  seed: number | undefined;
  parent: Network | undefined;
  readonly ensembles: Ensemble[] = [];
  readonly nodes: Node[] = [];
  readonly connections: Connection[] = [];
  readonly networks: Network[] = [];
  readonly probes: Probe[] = [];
  readonly config: NetworkConfig = { ensemble: {}, connection: {}, probe: {} };

  constructor(opts: NetworkOptions = {}) {
    checkKnownOptions(opts, NETWORK_OPTIONS, 'Network');
    if (opts.label !== undefined && typeof opts.label !== 'string') throw new ValidationError('Network: label must be a string');
    if (opts.seed !== undefined && (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff)) {
      throw new ValidationError(
        `Network${opts.label ? ` '${opts.label}'` : ''}: seed must be an integer in [0, 2^32), got ${String(opts.seed)}`,
      );
    }
    this.label = opts.label;
    this.seed = opts.seed;
    if (opts.parent !== undefined) opts.parent.add(this);
  }

  /** 'Network', or the kind of a prebuilt one ('AssociativeMemory', 'BasalGanglia', ...), with its label. */
  get name(): string {
    const kind = this.constructor.name.replace(/Network$/, '') || 'Network';
    return this.label !== undefined ? `${kind} '${this.label}'` : kind;
  }
  toString(): string {
    return this.name;
  }

  /** Creates a Node: a constant, array, f(t), f(t, x) (give sizeIn), a Process, or null (passthrough). */
  node(output: NodeOutput, opts: NodeOptions = {}): Node {
    const n = new Node(this, output, opts);
    this.nodes.push(n);
    return n;
  }

  ensemble(opts: EnsembleOptions): Ensemble {
    const e = new Ensemble(this, { ...this.defaults('ensemble'), ...given(opts) } as EnsembleOptions);
    this.ensembles.push(e);
    return e;
  }

  connect<R extends LearningRuleSpec | undefined = undefined>(
    pre: PreTarget,
    post: PostTarget,
    opts: ConnectionOptions & { learningRule?: R } = {},
  ): Connection<R> {
    const defaults = this.defaults('connection');
    // A configured solver applies where solvers do (connections from ensembles), as in Nengo;
    // only one given to this connection is checked against its pre.
    const preObj = pre instanceof ObjView ? pre.obj : pre;
    if (opts.solver === undefined && !(preObj instanceof Ensemble)) delete defaults.solver;
    const c = new Connection<R>(this, pre, post, { ...defaults, ...given(opts) });
    this.connections.push(c);
    return c;
  }

  probe(target: ProbeTarget, opts: ProbeOptions = {}): Probe {
    // a decoded probe takes the configured connection solver, as Nengo's Probe.solver default does
    const configured = this.defaults('connection').solver;
    const solver = opts.solver ?? (configured && !configured.weights ? configured : undefined);
    const p = new Probe(this, target, { ...this.defaults('probe'), ...given(opts), ...(solver ? { solver } : {}) });
    this.probes.push(p);
    return p;
  }

  /** Creates and adds an empty subnetwork. */
  network(opts: Omit<NetworkOptions, 'parent'> = {}): Network {
    return new Network({ ...opts, parent: this });
  }

  /** Adds an existing network as a subnetwork. */
  add(net: Network): Network {
    if (!(net instanceof Network)) throw new ValidationError(`${this.name}: add() takes a Network`);
    if (net.parent !== undefined && net.parent !== this) {
      throw new ValidationError(`${net.name} is already part of ${net.parent.name}`);
    }
    for (const p of this.ancestry()) if (p === net) throw new ValidationError(`${net.name} cannot contain itself`);
    if (!this.networks.includes(net)) {
      net.parent = this;
      this.networks.push(net);
    }
    return net;
  }

  /** Defaults for a kind of object from this network's config and its parents' (nearest wins). */
  private defaults<K extends keyof NetworkConfig>(kind: K): NetworkConfig[K] {
    const chain = this.ancestry().reverse();
    return Object.assign({}, ...chain.map((n) => n.config[kind])) as NetworkConfig[K];
  }

  /** This network and its parents, nearest first. */
  private ancestry(): Network[] {
    const chain: Network[] = [this];
    while (chain[chain.length - 1]!.parent) chain.push(chain[chain.length - 1]!.parent!);
    return chain;
  }

  get allEnsembles(): Ensemble[] {
    return [...this.ensembles, ...this.networks.flatMap((n) => n.allEnsembles)];
  }
  get allNodes(): Node[] {
    return [...this.nodes, ...this.networks.flatMap((n) => n.allNodes)];
  }
  get allConnections(): Connection[] {
    return [...this.connections, ...this.networks.flatMap((n) => n.allConnections)];
  }
  get allProbes(): Probe[] {
    return [...this.probes, ...this.networks.flatMap((n) => n.allProbes)];
  }
  get allNetworks(): Network[] {
    return [...this.networks, ...this.networks.flatMap((n) => n.allNetworks)];
  }
  get nNeurons(): number {
    return this.allEnsembles.reduce((s, e) => s + e.nNeurons, 0);
  }
}

/** The options actually given: keys set to undefined do not override a config default. */
function given<T extends object>(opts: T): T {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as T;
}
