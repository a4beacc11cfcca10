/**
 * jupyterlab-nefsim: model cells, the Run button, the Runs panel and the
 * service connection. Probe plots are rendered by the MIME extension (mime.ts).
 */
import { ILabShell, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import type { Cell } from '@jupyterlab/cells';
import { INotebookCellExecutor, INotebookTracker, runCell, type NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { nefsimIcon } from './icons.js';
import { NefsimClient, ServiceError, type SocketLike } from './client/client.js';
import { setSharedClient } from './client/shared.js';
import { serviceAnswers, serviceSocketUrl } from './client/url.js';
import { createRoutingExecutor } from './cells/executor.js';
import { METADATA_KEY, MODEL_CELL_CLASS, isModelCell } from './cells/model.js';
import { runModelCell } from './cells/runner.js';
import { DesignSessions } from './cells/sessions.js';
import { askRunOptions } from './runs/dialog.js';
import { RunsPanel } from './runs/panel.js';
import { plotRunProbes, refreshPlotsCell } from './runs/plots.js';
import { ServiceStatus } from './status.js';
import { INefsimService } from './tokens.js';

const PLUGIN_ID = 'jupyterlab-nefsim:plugin';

export const CommandIDs = {
  toggleModelCell: 'nefsim:toggle-model-cell',
  run: 'nefsim:run',
  showRuns: 'nefsim:show-runs',
  reconnect: 'nefsim:reconnect',
  interrupt: 'nefsim:interrupt-session',
  reset: 'nefsim:reset-session',
} as const;

interface Settings {
  serviceUrl: string;
  serviceToken: string;
  defaultDuration: number;
  defaultDt: number;
}

const settings: Settings = { serviceUrl: '', serviceToken: '', defaultDuration: 1, defaultDt: 0.001 };

/** The service client (one per JupyterLab page) and the design sessions. */
const servicePlugin: JupyterFrontEndPlugin<INefsimService> = {
  id: 'jupyterlab-nefsim:service',
  description: 'Connects to the nefsim service (through jupyter-server-proxy, or a standalone service named in the settings).',
  autoStart: true,
  provides: INefsimService,
  optional: [ISettingRegistry, IStatusBar],
  activate: (app: JupyterFrontEnd, registry: ISettingRegistry | null, statusBar: IStatusBar | null): INefsimService => {
    const server = app.serviceManager.serverSettings ?? ServerConnection.makeSettings();
    const client = new NefsimClient({
      url: () => serviceSocketUrl(server, settings.serviceUrl, settings.serviceToken),
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      probe: (url) => serviceAnswers(url),
      requestTimeoutMs: 0,
    });
    setSharedClient(client);
    const sessions = new DesignSessions(client);
    if (registry) {
      registry
        .load(PLUGIN_ID)
        .then((s) => {
          const apply = () => {
            const prev = `${settings.serviceUrl}|${settings.serviceToken}`;
            settings.serviceUrl = (s.get('serviceUrl').composite as string) ?? '';
            settings.serviceToken = (s.get('serviceToken').composite as string) ?? '';
            settings.defaultDuration = (s.get('defaultDuration').composite as number) ?? 1;
            settings.defaultDt = (s.get('defaultDt').composite as number) ?? 0.001;
            return prev !== `${settings.serviceUrl}|${settings.serviceToken}`;
          };
          apply();
          s.changed.connect(() => {
            // a new service URL or token: connect to it (the URL and token are read at every attempt)
            if (apply()) client.reconnectNow('the service settings changed');
          });
        })
        .catch(() => undefined)
        .finally(() => client.connect());
    } else {
      client.connect();
    }
    if (statusBar) {
      statusBar.registerStatusItem('jupyterlab-nefsim:status', {
        item: new ServiceStatus(client),
        align: 'left',
        rank: 4,
      });
    }
    app.commands.addCommand(CommandIDs.reconnect, {
      label: 'nefsim: Reconnect to the Service',
      execute: () => client.connect(),
    });
    return { client, sessions };
  },
};

/** Routes model cells to the design session and other cells to the kernel. */
const executorPlugin: JupyterFrontEndPlugin<INotebookCellExecutor> = {
  id: 'jupyterlab-nefsim:cell-executor',
  description: 'Runs nefsim model cells in the notebook design session, other cells in the kernel.',
  autoStart: true,
  provides: INotebookCellExecutor,
  requires: [INefsimService],
  activate: (app: JupyterFrontEnd, service: INefsimService): INotebookCellExecutor => {
    const pathOf = (cell: Cell): string => {
      // The cell's notebook panel holds the path; fall back to the current widget.
      let node: HTMLElement | null = cell.node;
      while (node && !node.classList.contains('jp-NotebookPanel')) node = node.parentElement;
      const id = node?.id;
      const shell = app.shell;
      for (const w of shell.widgets('main')) {
        if (w.id === id) {
          const ctx = (w as NotebookPanel).context;
          if (ctx) return ctx.path;
        }
      }
      const current = shell.currentWidget as NotebookPanel | null;
      return current?.context?.path ?? 'untitled.ipynb';
    };
    return createRoutingExecutor({
      runDefault: runCell,
      runModelCell: (options) => runModelCell(service.client, service.sessions, () => pathOf(options.cell), options),
      runPlotsCell: (options) => refreshPlotsCell(service.client, options),
      onJavaScriptInKernel: (options) => {
        const model = options.cell.model;
        Notification.info(
          'This cell looks like nefsim JavaScript, but it is not a model cell, so the Python kernel ran it (hence the SyntaxError). ' +
            'Model cells run in the design session: mark it with the nefsim button of its toolbar, then run it again.',
          {
            autoClose: 15000,
            actions: [
              {
                label: 'Make it a model cell',
                caption: 'Mark this cell as a nefsim model cell (run it again afterwards)',
                callback: () => {
                  if (!model.isDisposed) model.setMetadata(METADATA_KEY, { model: true });
                },
              },
            ],
          },
        );
      },
    });
  },
};

/** Marks model cells (class, JavaScript editing) in every notebook. */
function trackModelCells(panel: NotebookPanel, onRestart: (path: string) => void): void {
  // The notebook's kernel restarts (Restart, Restart and Run All, a dead kernel): restart the design
  // session too, before any cell runs after it (the session's cells wait for the reset in its queue).
  panel.sessionContext.statusChanged.connect((_, status) => {
    if (status === 'restarting') onRestart(panel.context.path);
  });
  const update = () => {
    for (const cell of panel.content.widgets) {
      const on = isModelCell(cell.model);
      cell.toggleClass(MODEL_CELL_CLASS, on);
      if (on && cell.model.mimeType !== 'text/javascript') cell.model.mimeType = 'text/javascript';
    }
  };
  const connectCells = () => {
    for (const cell of panel.content.widgets) {
      cell.model.metadataChanged.disconnect(update);
      cell.model.metadataChanged.connect(update);
    }
    update();
  };
  panel.content.model?.cells.changed.connect(connectCells);
  panel.content.modelChanged.connect(connectCells);
  panel.sessionContext.kernelChanged.connect(() => setTimeout(update, 0));
  panel.sessionContext.ready.then(() => setTimeout(update, 0)).catch(() => undefined);
  void panel.context.ready.then(connectCells);
  connectCells();
}

/** Commands, the Run button, the Runs panel. */
const mainPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'nefsim model cells, Run button and Runs panel.',
  autoStart: true,
  requires: [INefsimService, INotebookTracker],
  optional: [ICommandPalette, ILabShell, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    service: INefsimService,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    _labShell: ILabShell | null,
    registry: ISettingRegistry | null,
  ): void => {
    const { client, sessions } = service;
    const renamingContexts = new WeakSet<object>();
    const restartSession = (path: string): void => void sessions.resetForRestart(path).catch(() => undefined);
    tracker.widgetAdded.connect((_, panel) => {
      trackModelCells(panel, restartSession);
      // a renamed notebook keeps its design session; the last panel of a notebook closes it
      let path = panel.context.path;
      // one rename per notebook: a second view of it (New View for Notebook) shares its context and hears
      // the same pathChanged, and renaming twice gave the new path a fresh, empty session
      const renames = !renamingContexts.has(panel.context);
      renamingContexts.add(panel.context);
      panel.context.pathChanged.connect((_, next) => {
        if (renames)
          void sessions
            .renamed(path, next)
            .catch((err: unknown) => console.warn(`nefsim: the design session of ${next} keeps its id:`, err));
        path = next;
      });
      panel.disposed.connect(() => {
        let open = false;
        tracker.forEach((p) => (open ||= p !== panel && p.context.path === path));
        if (!open) void sessions.close(path).catch(() => undefined);
      });
    });
    tracker.forEach((panel) => trackModelCells(panel, restartSession));

    app.commands.addCommand(CommandIDs.toggleModelCell, {
      label: 'Toggle nefsim Model Cell',
      caption: 'Mark or unmark the selected code cells as nefsim model cells (run in the design session)',
      icon: nefsimIcon,
      isToggled: () => {
        const cell = tracker.activeCell;
        return !!cell && isModelCell(cell.model);
      },
      isEnabled: () => tracker.activeCell?.model.type === 'code',
      execute: () => {
        const panel = tracker.currentWidget;
        if (!panel) return;
        const selected = panel.content.widgets.filter((c) => panel.content.isSelectedOrActive(c) && c.model.type === 'code');
        const on = !selected.every((c) => isModelCell(c.model));
        for (const c of selected) {
          if (on) c.model.setMetadata(METADATA_KEY, { model: true });
          else c.model.deleteMetadata(METADATA_KEY);
          if (!on) c.model.mimeType = panel.content.codeMimetype;
        }
        app.commands.notifyCommandChanged(CommandIDs.toggleModelCell);
      },
    });
    tracker.activeCellChanged.connect(() => app.commands.notifyCommandChanged(CommandIDs.toggleModelCell));

    const runsPanel = new RunsPanel({ client, plotProbes: (run) => plotRunProbes(client, tracker, run) });
    runsPanel.title.icon = nefsimIcon;
    app.shell.add(runsPanel, 'left', { rank: 600 });

    app.commands.addCommand(CommandIDs.showRuns, {
      label: 'nefsim: Show Runs',
      execute: () => app.shell.activateById(runsPanel.id),
    });

    app.commands.addCommand(CommandIDs.run, {
      label: 'nefsim: Run the Model…',
      caption: "Start a detached nefsim run of this notebook's model cells",
      icon: (args) => (args.toolbar ? nefsimIcon : undefined),
      isEnabled: () => !!tracker.currentWidget,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (!panel) return;
        const path = panel.context.path;
        const cells = panel.content.widgets.filter((c) => isModelCell(c.model));
        if (!cells.length) {
          Notification.warning('This notebook has no nefsim model cells: mark a code cell with the nefsim cell toolbar button first.', {
            autoClose: 6000,
          });
          return;
        }
        const stem =
          (path.split('/').pop() ?? 'run')
            .replace(/\.ipynb$/, '')
            .replace(/[^A-Za-z0-9_.-]+/g, '-')
            .replace(/^[.-]+/, '')
            .slice(0, 60) || 'run'; // a label is at most 100 characters (run.start)
        const meta = panel.content.model?.getMetadata(METADATA_KEY) as
          | {
              run?: Partial<{
                duration: number;
                dt: number;
                partitions: number;
                trials: number;
                seed: number;
                sweep: Record<string, unknown>[];
                dtype: 'float64' | 'float32';
              }>;
            }
          | undefined;
        const opts = await askRunOptions(
          {
            duration: meta?.run?.duration ?? settings.defaultDuration,
            dt: meta?.run?.dt ?? settings.defaultDt,
            partitions: meta?.run?.partitions,
            trials: meta?.run?.trials,
            sweep: meta?.run?.sweep,
            seed: meta?.run?.seed,
            dtype: meta?.run?.dtype,
          },
          stem,
        );
        if (!opts) return;
        const runAllModelCells = async () => {
          for (const cell of cells) {
            const ok = await runModelCell(client, sessions, () => path, {
              cell,
              notebook: panel.content.model!,
              notebookConfig: panel.content.notebookConfig,
              onCellExecuted: () => undefined,
              onCellExecutionScheduled: () => undefined,
            });
            if (!ok) throw new Error('a model cell failed: fix it, then press Run again');
          }
        };
        try {
          const sessionId = await sessions.ensure(path);
          // The run takes the model cells the session executed: bring them up to date first.
          const current = cells.map((c) => ({ id: c.model.id, source: c.model.sharedModel.getSource() }));
          // exactly these cells, in notebook order (the session also keeps cells since deleted or unmarked)
          const cellIds = current.map((c) => c.id);
          if (!sessions.isCurrent(path, current)) await runAllModelCells();
          let reply;
          try {
            reply = await client.request(
              'run.start',
              { session: sessions.nameOf(sessionId), cells: cellIds, ...opts },
              { timeoutMs: 60_000 },
            );
          } catch (err) {
            if (!(err instanceof ServiceError) || (err.code !== 'conflict' && err.code !== 'not_found')) throw err;
            // The service restarted and lost the session: execute the model cells again, then retry once.
            await runAllModelCells();
            reply = await client.request(
              'run.start',
              { session: sessions.nameOf(sessionId), cells: cellIds, ...opts },
              { timeoutMs: 60_000 },
            );
          }
          const r = reply.result as Record<string, unknown> | null;
          const name = r && typeof r.run === 'string' ? r.run : 'the run';
          Notification.success(`nefsim: started ${name}`, {
            autoClose: 5000,
            actions: [{ label: 'Show runs', callback: () => app.shell.activateById(runsPanel.id) }],
          });
          app.shell.activateById(runsPanel.id);
          void runsPanel.refresh();
        } catch (err) {
          Notification.error(`nefsim: the run did not start: ${err instanceof Error ? err.message : String(err)}`, { autoClose: 8000 });
        }
      },
    });

    app.commands.addCommand(CommandIDs.interrupt, {
      label: 'nefsim: Interrupt the Design Session',
      execute: async () => {
        const panel = tracker.currentWidget;
        if (panel) await sessions.interrupt(panel.context.path);
      },
    });
    app.commands.addCommand(CommandIDs.reset, {
      label: 'nefsim: Restart the Design Session',
      execute: async () => {
        const panel = tracker.currentWidget;
        if (panel) await sessions.reset(panel.context.path);
      },
    });

    // The notebook's own interrupt and restart act on the design session too.
    app.commands.commandExecuted.connect((_, args) => {
      const panel = tracker.currentWidget;
      if (!panel) return;
      // (a restart is seen as the kernel's status: see trackModelCells)
      if (args.id === 'notebook:interrupt-kernel') void sessions.interrupt(panel.context.path).catch(() => undefined);
    });

    if (palette) {
      for (const command of [
        CommandIDs.run,
        CommandIDs.toggleModelCell,
        CommandIDs.showRuns,
        CommandIDs.reconnect,
        CommandIDs.interrupt,
        CommandIDs.reset,
      ]) {
        palette.addItem({ command, category: 'nefsim' });
      }
    }
    if (registry) {
      // Loading the settings makes JupyterLab apply the toolbar items declared in schema/plugin.json.
      void registry.load(PLUGIN_ID).catch(() => undefined);
    }
  },
};

export default [servicePlugin, executorPlugin, mainPlugin];
