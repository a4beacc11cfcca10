/** The status bar item: the service connection, with the reason when it is down. Click to reconnect now. */
import { Widget } from '@lumino/widgets';
import type { NefsimClient } from './client/client.js';
import { statusText } from './client/status-text.js';

export class ServiceStatus extends Widget {
  private dot = document.createElement('span');
  private text = document.createElement('span');

  constructor(private readonly client: NefsimClient) {
    super();
    this.addClass('nefsim-StatusItem');
    this.id = 'nefsim-status';
    this.dot.className = 'nefsim-StatusItem-dot';
    this.node.append(this.dot, this.text);
    this.node.addEventListener('click', () => this.client.connect());
    client.statusChanged.connect(this.refresh, this);
    this.refresh();
  }

  private refresh = (): void => {
    const s = this.client.status;
    const { label, title } = statusText(s);
    this.node.dataset.state = s.state;
    this.text.textContent = label;
    this.node.title = title;
  };

  dispose(): void {
    this.client.statusChanged.disconnect(this.refresh, this);
    super.dispose();
  }
}
